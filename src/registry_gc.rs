//! `tinforge registry gc`: garbage collection of registry blobs, safe while the server runs (see
//! `tinforge_store::registry::gc` for why): links no manifest needs, blobs no repository links,
//! abandoned uploads, and bytes in the blob store that the database does not record.

use crate::config::{BlobStoreArgs, CliError, StorageArgs};
use clap::{Args, Subcommand};
use tinforge_store::registry::{gc, uploads};

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Remove blobs that no manifest references (safe while serving).
    Gc(GcArgs),
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Blobs pushed or touched within this many minutes are kept (pushes in flight upload
    /// their blobs before their manifest).
    #[arg(long, default_value_t = 60)]
    grace_minutes: i64,
    /// Upload sessions untouched for this many hours are abandoned.
    #[arg(long, default_value_t = 24)]
    upload_hours: i64,
    #[command(flatten)]
    blobs: BlobStoreArgs,
}

pub fn run(storage: &StorageArgs, cmd: RegistryCommand) -> Result<(), CliError> {
    let RegistryCommand::Gc(args) = cmd;
    let store = storage.open(2)?;
    let blobs = args.blobs.open(&storage.data_dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut conn = store.conn()?;
    let conn = &mut *conn;
    let now = tinforge_store::now();
    let cutoff = now - chrono::Duration::minutes(args.grace_minutes.max(0));
    let mut remove = |digest: &str| {
        runtime
            .block_on(blobs.delete(digest))
            .map_err(|e| e.to_string())
    };
    let report = gc::collect(conn, cutoff, args.dry_run, &mut remove)?;
    // Abandoned upload sessions, and staged files no session names (a crash mid-upload).
    let stale = uploads::stale(
        conn,
        now - chrono::Duration::hours(args.upload_hours.max(0)),
    )?;
    let live: Vec<String> = uploads::all_ids(conn)?
        .into_iter()
        .filter(|id| !stale.contains(id))
        .collect();
    let mut staged_removed = 0usize;
    for entry in std::fs::read_dir(blobs.staging_dir())? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let old = entry
            .metadata()?
            .modified()?
            .elapsed()
            .is_ok_and(|age| age.as_secs() as i64 > args.grace_minutes.max(0) * 60);
        if !live.contains(&name) && (stale.contains(&name) || old) {
            staged_removed += 1;
            if !args.dry_run {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    if !args.dry_run {
        for id in &stale {
            uploads::delete(conn, id)?;
        }
    }
    // Bytes the database does not record (a removal whose row went but whose bytes stayed).
    // Listed before the records are read: an upload records its blob before moving the bytes
    // in, so bytes seen here that belong to a push in flight are already recorded.
    let stored = runtime
        .block_on(blobs.list())
        .map_err(|e| CliError::Usage(format!("listing the blob store: {e}")))?;
    let recorded = gc::recorded_digests(conn)?;
    let mut orphans = 0usize;
    for digest in stored.iter().filter(|d| !recorded.contains(d)) {
        orphans += 1;
        if !args.dry_run {
            runtime
                .block_on(blobs.delete(digest))
                .map_err(|e| CliError::Usage(format!("removing {digest}: {e}")))?;
        }
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "registry gc ({}): {verb} {} blobs ({} bytes), {} repository links, {} upload sessions, {} staged files, {} unrecorded blobs",
        blobs.describe(),
        report.blobs_removed.len(),
        report.bytes_freed(),
        report.links_removed,
        stale.len(),
        staged_removed,
        orphans
    );
    for (digest, size) in &report.blobs_removed {
        println!("{verb} {digest} ({size} bytes)");
    }
    Ok(())
}
