//! Artifact files: which paths an `artifacts` entry takes, the zip that carries them, and
//! unpacking a dependency's zip, never outside the project directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};
use zip::write::SimpleFileOptions;

use crate::error::{Error, Result};
use crate::payload::ArtifactSpec;

/// What one collected path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A symlink and its target (which stays inside the project).
    Symlink(String),
}

/// The result of collecting: paths relative to the project (with `/`), and warnings.
#[derive(Debug, Default)]
pub struct Collected {
    pub entries: BTreeMap<String, Kind>,
    pub warnings: Vec<String>,
}

impl Collected {
    /// Whether at least one file or symlink was taken.
    pub fn has_files(&self) -> bool {
        self.entries.values().any(|k| !matches!(k, Kind::Dir))
    }
}

const MATCH: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Turn a user path into a pattern relative to the project, or say why not.
fn relative_pattern(project: &Path, raw: &str) -> std::result::Result<String, String> {
    let mut text = raw.trim().to_string();
    if text.is_empty() {
        return Err("empty path".into());
    }
    if Path::new(&text).is_absolute() {
        match Path::new(&text).strip_prefix(project) {
            Ok(rest) => text = rest.to_string_lossy().into_owned(),
            Err(_) => return Err(format!("{raw}: outside the project directory")),
        }
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(format!("{raw}: \"..\" is not allowed")),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        // The project directory itself.
        return Ok("**".into());
    }
    Ok(parts.join("/"))
}

fn compile(project: &Path, raws: &[String], warnings: &mut Vec<String>) -> Vec<Pattern> {
    raws.iter()
        .filter_map(|raw| match relative_pattern(project, raw) {
            Ok(p) => match Pattern::new(&p) {
                Ok(pat) => Some(pat),
                Err(e) => {
                    warnings.push(format!("{raw}: bad pattern: {}", e.msg));
                    None
                }
            },
            Err(why) => {
                warnings.push(why);
                None
            }
        })
        .collect()
}

/// Every path under `project` (not following symlinks, without the top `.git`), sorted.
fn walk(project: &Path) -> Result<Vec<(String, std::fs::Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = project.join(&rel);
        let read = std::fs::read_dir(&dir).map_err(|e| Error::io_path("reading", &dir, e))?;
        for entry in read {
            let entry = entry.map_err(|e| Error::io_path("reading", &dir, e))?;
            let name = entry.file_name();
            if rel.as_os_str().is_empty() && name == ".git" {
                continue;
            }
            let child = rel.join(&name);
            let meta = entry
                .path()
                .symlink_metadata()
                .map_err(|e| Error::io_path("inspecting", &entry.path(), e))?;
            if meta.is_dir() {
                stack.push(child.clone());
            }
            out.push((child.to_string_lossy().into_owned(), meta));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Whether the path or one of its parents matches one of the patterns.
fn matches_self_or_parent(path: &str, patterns: &[Pattern]) -> bool {
    let mut cur = path;
    loop {
        if patterns.iter().any(|p| p.matches_with(cur, MATCH)) {
            return true;
        }
        match cur.rfind('/') {
            Some(i) => cur = &cur[..i],
            None => return false,
        }
    }
}

/// The symlink's target if it stays inside the project.
fn inside_link(project: &Path, rel: &str) -> Option<String> {
    let link = project.join(rel);
    let target = std::fs::read_link(&link).ok()?;
    if target.is_absolute() {
        return None;
    }
    // Resolve lexically from the link's directory.
    let mut depth: i64 = rel.matches('/').count() as i64;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return None,
        }
        if depth < 0 {
            return None;
        }
    }
    // And for real, in case the chain goes through other links.
    if let (Ok(real), Ok(root)) = (link.canonicalize(), project.canonicalize())
        && !real.starts_with(&root)
    {
        return None;
    }
    Some(target.to_string_lossy().into_owned())
}

/// Collect the paths of one `artifacts` entry; `untracked` is the list from
/// [`untracked_files`] (used only when the entry asks for it).
pub fn collect(project: &Path, spec: &ArtifactSpec, untracked: &[String]) -> Result<Collected> {
    let mut res = Collected::default();
    let includes = compile(project, &spec.paths, &mut res.warnings);
    let excludes = compile(project, &spec.exclude, &mut res.warnings);
    let all = walk(project)?;
    let untracked: std::collections::HashSet<&str> = if spec.untracked {
        untracked.iter().map(String::as_str).collect()
    } else {
        Default::default()
    };
    for (rel, meta) in &all {
        let wanted = untracked.contains(rel.as_str()) || matches_self_or_parent(rel, &includes);
        if !wanted || matches_self_or_parent(rel, &excludes) {
            continue;
        }
        let kind = if meta.file_type().is_symlink() {
            match inside_link(project, rel) {
                Some(target) => Kind::Symlink(target),
                None => {
                    res.warnings.push(format!(
                        "{rel}: symlink points outside the project, skipped"
                    ));
                    continue;
                }
            }
        } else if meta.is_dir() {
            Kind::Dir
        } else if meta.is_file() {
            Kind::File
        } else {
            continue;
        };
        res.entries.insert(rel.clone(), kind);
    }
    Ok(res)
}

/// `git ls-files --others --exclude-standard` in the project.
pub fn untracked_files(project: &Path) -> Result<Vec<String>> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "--others", "--exclude-standard", "-z"])
        .current_dir(project)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("running git ls-files", e))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out
        .stdout
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// Write the collected entries of `project` into a zip at `dest`.
pub fn write_zip(project: &Path, collected: &Collected, dest: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let file = File::create(dest).map_err(|e| Error::io_path("creating", dest, e))?;
    let mut zip = zip::ZipWriter::new(io::BufWriter::new(file));
    let base = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (rel, kind) in &collected.entries {
        let path = project.join(rel);
        match kind {
            Kind::Dir => zip.add_directory(format!("{rel}/"), base.unix_permissions(0o755))?,
            Kind::Symlink(target) => zip.add_symlink(rel, target, base)?,
            Kind::File => {
                let mut src = File::open(&path).map_err(|e| Error::io_path("opening", &path, e))?;
                let meta = src
                    .metadata()
                    .map_err(|e| Error::io_path("inspecting", &path, e))?;
                let mut opts = base.unix_permissions(meta.permissions().mode() & 0o777);
                if let Some(t) = meta.modified().ok().and_then(zip_time) {
                    opts = opts.last_modified_time(t);
                }
                let opts = opts.large_file(meta.len() >= u32::MAX as u64);
                zip.start_file(rel, opts)?;
                io::copy(&mut src, &mut zip).map_err(|e| Error::io_path("archiving", &path, e))?;
            }
        }
    }
    let mut out = zip.finish()?;
    out.flush()
        .map_err(|e| Error::io_path("writing", dest, e))?;
    Ok(())
}

/// A file time as a zip timestamp (UTC; zip has no time zone).
fn zip_time(t: std::time::SystemTime) -> Option<zip::DateTime> {
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    zip::DateTime::from_date_and_time(
        u16::try_from(year).ok()?,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        (rem / 60 % 60) as u8,
        (rem % 60) as u8,
    )
    .ok()
}

/// Whether some existing parent of `rel` under `root` is a symlink (unpacking through it could
/// leave the directory).
fn through_symlink(root: &Path, rel: &Path) -> bool {
    let mut cur = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for part in parts.iter().take(parts.len().saturating_sub(1)) {
        cur.push(part);
        match cur.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Unpack the zip at `src` into `dest`; entries that would land outside are skipped and named
/// in the returned warnings.
pub fn extract_zip(src: &Path, dest: &Path) -> Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt;
    let file = File::open(src).map_err(|e| Error::io_path("opening", src, e))?;
    let mut archive = zip::ZipArchive::new(io::BufReader::new(file))?;
    let mut warnings = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
        let Some(rel) = entry.enclosed_name() else {
            warnings.push(format!("{name}: outside the project directory, skipped"));
            continue;
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        if through_symlink(dest, &rel) {
            warnings.push(format!(
                "{name}: would be written through a symlink, skipped"
            ));
            continue;
        }
        let out = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| Error::io_path("creating", &out, e))?;
            continue;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io_path("creating", parent, e))?;
        }
        if out.symlink_metadata().is_ok() {
            let _ = std::fs::remove_file(&out);
        }
        if entry.is_symlink() {
            let mut target = String::new();
            io::Read::read_to_string(&mut entry, &mut target)
                .map_err(|e| Error::io_path("reading symlink entry of", src, e))?;
            let depth = rel.components().count() as i64 - 1;
            if !stays_inside(&target, depth) {
                warnings.push(format!("{name}: symlink points outside, skipped"));
                continue;
            }
            std::os::unix::fs::symlink(&target, &out)
                .map_err(|e| Error::io_path("creating symlink", &out, e))?;
            continue;
        }
        let mut f = File::create(&out).map_err(|e| Error::io_path("creating", &out, e))?;
        io::copy(&mut entry, &mut f).map_err(|e| Error::io_path("writing", &out, e))?;
        if let Some(mode) = entry.unix_mode() {
            let _ = std::fs::set_permissions(&out, std::fs::Permissions::from_mode(mode & 0o777));
        }
    }
    Ok(warnings)
}

/// Whether a relative link target, seen from a directory `depth` levels deep, stays inside.
fn stays_inside(target: &str, depth: i64) -> bool {
    let path = Path::new(target);
    if path.is_absolute() {
        return false;
    }
    let mut d = depth;
    for c in path.components() {
        match c {
            Component::ParentDir => d -= 1,
            Component::Normal(_) => d += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if d < 0 {
            return false;
        }
    }
    true
}

/// Whether an entry's `when` matches the job's outcome.
pub fn when_matches(when: &str, success: bool) -> bool {
    match when {
        "always" => true,
        "on_failure" => !success,
        _ => success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, f.as_bytes()).unwrap();
        }
        dir
    }

    fn spec(paths: &[&str], exclude: &[&str]) -> ArtifactSpec {
        ArtifactSpec {
            paths: paths.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..ArtifactSpec::default()
        }
    }

    fn files(c: &Collected) -> Vec<&str> {
        c.entries
            .iter()
            .filter(|(_, k)| !matches!(k, Kind::Dir))
            .map(|(p, _)| p.as_str())
            .collect()
    }

    #[test]
    fn globs_double_star_directories_and_exclude() {
        let dir = tree(&[
            "a.txt",
            "b.log",
            "out/x.bin",
            "out/deep/y.bin",
            "out/deep/skip.tmp",
            "src/m/n/report.xml",
            "src/report.xml",
        ]);
        let c = collect(dir.path(), &spec(&["*.txt"], &[]), &[]).unwrap();
        assert_eq!(files(&c), vec!["a.txt"]);
        let c = collect(dir.path(), &spec(&["out/"], &["**/*.tmp"]), &[]).unwrap();
        assert_eq!(files(&c), vec!["out/deep/y.bin", "out/x.bin"]);
        assert!(c.entries.get("out") == Some(&Kind::Dir));
        let c = collect(dir.path(), &spec(&["src/**/report.xml"], &[]), &[]).unwrap();
        assert_eq!(files(&c), vec!["src/m/n/report.xml", "src/report.xml"]);
        let c = collect(dir.path(), &spec(&["./out/*"], &["out/deep"]), &[]).unwrap();
        assert_eq!(files(&c), vec!["out/x.bin"]);
        let abs = dir.path().join("b.log");
        let c = collect(dir.path(), &spec(&[abs.to_str().unwrap()], &[]), &[]).unwrap();
        assert_eq!(files(&c), vec!["b.log"]);
    }

    #[test]
    fn escaping_paths_are_rejected() {
        let dir = tree(&["in/file"]);
        let outside = tree(&["secret"]);
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("in/abs"))
            .unwrap();
        std::os::unix::fs::symlink("../../x", dir.path().join("in/rel")).unwrap();
        std::os::unix::fs::symlink("file", dir.path().join("in/ok")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("dirlink")).unwrap();
        let c = collect(
            dir.path(),
            &spec(
                &["../*", "in/../../x", "/etc/passwd", "in", "dirlink/secret"],
                &[],
            ),
            &[],
        )
        .unwrap();
        assert_eq!(files(&c), vec!["in/file", "in/ok"]);
        assert_eq!(c.entries["in/ok"], Kind::Symlink("file".into()));
        assert_eq!(c.warnings.len(), 5, "{:?}", c.warnings);
    }

    #[test]
    fn untracked_files_from_git() {
        let dir = tree(&["tracked.txt", "new.txt", "build/gen.o", "ignored.log"]);
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::write(dir.path().join(".gitignore"), "*.log\n").unwrap();
        git(&["add", "tracked.txt", ".gitignore"]);
        let untracked = untracked_files(dir.path()).unwrap();
        let mut s = ArtifactSpec {
            untracked: true,
            ..ArtifactSpec::default()
        };
        let c = collect(dir.path(), &s, &untracked).unwrap();
        assert_eq!(files(&c), vec!["build/gen.o", "new.txt"]);
        s.exclude = vec!["build/**".into()];
        s.paths = vec!["tracked.txt".into()];
        let c = collect(dir.path(), &s, &untracked).unwrap();
        assert_eq!(files(&c), vec!["new.txt", "tracked.txt"]);
    }

    #[test]
    fn zip_round_trip() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tree(&["bin/tool", "docs/a/b.md", "empty/.keep"]);
        std::fs::set_permissions(
            dir.path().join("bin/tool"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("a/b.md", dir.path().join("docs/link")).unwrap();
        let c = collect(dir.path(), &spec(&["bin", "docs", "empty"], &[]), &[]).unwrap();
        let zip_dir = tempfile::tempdir().unwrap();
        let zip_path = zip_dir.path().join("artifacts.zip");
        write_zip(dir.path(), &c, &zip_path).unwrap();
        let out = tempfile::tempdir().unwrap();
        let warnings = extract_zip(&zip_path, out.path()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            std::fs::read_to_string(out.path().join("docs/a/b.md")).unwrap(),
            "docs/a/b.md"
        );
        assert_eq!(
            std::fs::read_to_string(out.path().join("docs/link")).unwrap(),
            "docs/a/b.md"
        );
        assert!(out.path().join("empty/.keep").is_file());
        let mode = std::fs::metadata(out.path().join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn extraction_refuses_to_leave_the_directory() {
        let zip_dir = tempfile::tempdir().unwrap();
        let zip_path = zip_dir.path().join("evil.zip");
        {
            let mut z = zip::ZipWriter::new(File::create(&zip_path).unwrap());
            let o = SimpleFileOptions::default();
            z.start_file("../escape", o).unwrap();
            z.write_all(b"x").unwrap();
            z.add_symlink("up", "../../etc", o).unwrap();
            z.start_file("ok.txt", o).unwrap();
            z.write_all(b"fine").unwrap();
            z.start_file("dirlink/inner", o).unwrap();
            z.write_all(b"y").unwrap();
            z.finish().unwrap();
        }
        let out = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), out.path().join("dirlink")).unwrap();
        let warnings = extract_zip(&zip_path, out.path()).unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(
            std::fs::read_to_string(out.path().join("ok.txt")).unwrap(),
            "fine"
        );
        assert!(!elsewhere.path().join("inner").exists());
        assert!(out.path().join("up").symlink_metadata().is_err());
    }

    #[test]
    fn zip_times() {
        use std::time::{Duration, UNIX_EPOCH};
        let t = zip_time(UNIX_EPOCH + Duration::from_secs(1_700_000_000)).unwrap();
        // 2023-11-14 22:13:20 UTC
        assert_eq!(
            (
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            (2023, 11, 14, 22, 13, 20)
        );
        assert!(zip_time(UNIX_EPOCH).is_none());
        let leap = zip_time(UNIX_EPOCH + Duration::from_secs(951_782_400)).unwrap();
        assert_eq!((leap.year(), leap.month(), leap.day()), (2000, 2, 29));
    }

    #[test]
    fn when_values() {
        assert!(when_matches("on_success", true) && !when_matches("on_success", false));
        assert!(when_matches("", true));
        assert!(when_matches("on_failure", false) && !when_matches("on_failure", true));
        assert!(when_matches("always", false));
    }
}
