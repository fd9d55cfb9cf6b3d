//! Bare repositories on disk, one per project: `<root>/<project_id>.git`. Named by id, never by
//! path, so renames and transfers move nothing and a request path never reaches the filesystem.
//! Ids are never reused (AUTOINCREMENT / BIGSERIAL), so a leftover repository of a deleted project
//! can never be served for a new one.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `pre-receive` hook tinforge installs in every repository. Pushes served by tinforge set
/// `TINFORGE_HOOK_BIN` (with the protected-branch rules of the push); anywhere else it is a no-op.
pub const PRE_RECEIVE_HOOK: &str = "#!/bin/sh\n\
# Installed by tinforge: checks pushes against the project's protected branches.\n\
[ -n \"$TINFORGE_HOOK_BIN\" ] || exit 0\n\
exec \"$TINFORGE_HOOK_BIN\" git-hook pre-receive\n";

/// Environment variables that would point a spawned `git` at another repository or object store.
const REPOSITORY_ENV: [&str; 13] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_QUARANTINE_PATH",
    "GIT_NAMESPACE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_PROTOCOL",
];

/// A `git` command with a clean repository environment.
pub fn git() -> Command {
    let mut cmd = Command::new("git");
    for var in REPOSITORY_ENV {
        cmd.env_remove(var);
    }
    cmd
}

/// Where the repositories live, how a new project's default branch is protected, and their life
/// cycle. Project creation and deletion call [`Repositories::create`] and
/// [`Repositories::remove`] (through [`super::lifecycle`]); serving calls
/// [`Repositories::ensure`], so a project whose repository was never created still gets one on
/// first use.
#[derive(Debug, Clone)]
pub struct Repositories {
    root: PathBuf,
    default_branch_protection: DefaultBranchProtection,
}

/// How a new project's default branch is protected: the instance setting GitLab calls
/// `default_branch_protection`. tinforge's default leaves it unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DefaultBranchProtection {
    /// Not protected.
    #[default]
    None,
    /// Developers may push and merge; no one may force-push or delete it.
    Partial,
    /// Only Maintainers may push and merge; no one may force-push or delete it.
    Full,
}

impl DefaultBranchProtection {
    pub const NAMES: [&'static str; 3] = ["none", "partial", "full"];

    pub fn parse(name: &str) -> Option<DefaultBranchProtection> {
        match name {
            "none" => Some(DefaultBranchProtection::None),
            "partial" => Some(DefaultBranchProtection::Partial),
            "full" => Some(DefaultBranchProtection::Full),
            _ => None,
        }
    }

    /// The protection's (push, merge) access levels; None: no protection.
    pub fn levels(self) -> Option<(i32, i32)> {
        match self {
            DefaultBranchProtection::None => None,
            DefaultBranchProtection::Partial => Some((30, 30)),
            DefaultBranchProtection::Full => Some((40, 40)),
        }
    }
}

impl Repositories {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Repositories {
            root: root.into(),
            default_branch_protection: DefaultBranchProtection::None,
        }
    }

    /// New projects get their default branch protected this way.
    pub fn with_default_branch_protection(mut self, p: DefaultBranchProtection) -> Self {
        self.default_branch_protection = p;
        self
    }

    pub fn default_branch_protection(&self) -> DefaultBranchProtection {
        self.default_branch_protection
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository of a project (it may not exist yet).
    pub fn path(&self, project_id: i64) -> PathBuf {
        self.root.join(format!("{project_id}.git"))
    }

    /// Creates the project's repository (HEAD on `default_branch`) unless it exists; installs or
    /// refreshes the hook either way. Blocking: call it off the async executor. Safe under
    /// concurrent callers: the repository is prepared aside and renamed into place.
    pub fn ensure(&self, project_id: i64, default_branch: &str) -> io::Result<PathBuf> {
        let path = self.path(project_id);
        if path.join("HEAD").is_file() {
            install_hook(&path)?;
            sync_head(&path, default_branch)?;
            return Ok(path);
        }
        std::fs::create_dir_all(&self.root)?;
        let tmp = self.root.join(format!(
            ".new-{project_id}-{}-{}.git",
            std::process::id(),
            unique()
        ));
        let result = init_bare(&tmp, default_branch).and_then(|()| {
            match std::fs::rename(&tmp, &path) {
                Ok(()) => Ok(()),
                // Another request created it first.
                Err(_) if path.join("HEAD").is_file() => Ok(()),
                Err(e) => Err(e),
            }
        });
        if tmp.exists() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result.map(|()| path)
    }

    /// Alias of [`Repositories::ensure`] for project creation.
    pub fn create(&self, project_id: i64, default_branch: &str) -> io::Result<PathBuf> {
        self.ensure(project_id, default_branch)
    }

    /// Has nothing been pushed to the project's repository yet (no branch, no tag; a missing
    /// repository is empty)? Answered from the ref files without opening the repository, so a
    /// page of projects (`empty_repo`) costs a few `stat`s per project.
    pub fn is_empty(&self, project_id: i64) -> bool {
        let path = self.path(project_id);
        let packed = std::fs::read_to_string(path.join("packed-refs")).unwrap_or_default();
        if packed
            .lines()
            .any(|l| !l.starts_with('#') && !l.starts_with('^') && !l.trim().is_empty())
        {
            return false;
        }
        !has_file_below(&path.join("refs/heads")) && !has_file_below(&path.join("refs/tags"))
    }

    /// Deletes the project's repository: renamed aside first (so it stops being served at once),
    /// then removed. A missing repository is fine.
    pub fn remove(&self, project_id: i64) -> io::Result<()> {
        let path = self.path(project_id);
        if !path.exists() {
            return Ok(());
        }
        let trash = self
            .root
            .join(format!(".deleted-{project_id}-{}.git", unique()));
        std::fs::rename(&path, &trash)?;
        std::fs::remove_dir_all(&trash)
    }
}

/// Loose objects above which git's `gc --auto` packs them (git's default `gc.auto`).
const AUTO_GC_LOOSE_OBJECTS: usize = 6700;

/// Housekeeping after a write through the API: pushes run `git gc --auto` themselves (receive-pack's
/// `receive.autogc`), API writes add loose objects that nothing would ever pack, and thousands of
/// loose objects make every later write slower (a merge commit on a 10,000-file tree: ~8 ms
/// packed, ~55 ms with 14,000 loose objects; `cargo bench -p tinforge-store --bench
/// merge_status`). Estimated as git does (the loose objects of one fan-out directory × 256), so
/// the common case costs one `read_dir`; when due, `git gc --auto` runs on a background thread
/// (git locks it against itself and keeps concurrent writers safe).
pub fn housekeep(repo_path: &Path) {
    let sample = std::fs::read_dir(repo_path.join("objects/17"))
        .map(|d| d.count())
        .unwrap_or(0);
    if sample * 256 <= AUTO_GC_LOOSE_OBJECTS {
        return;
    }
    let path = repo_path.to_path_buf();
    std::thread::spawn(move || {
        let status = git()
            .arg("-C")
            .arg(&path)
            .args(["gc", "--auto", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Err(e) = status {
            tracing::warn!(error = %e, repository = %path.display(), "git gc --auto failed to start");
        }
    });
}

/// Is there any file in `dir` or below it (a missing directory has none)?
fn has_file_below(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match e.file_type() {
        Ok(t) if t.is_dir() => has_file_below(&e.path()),
        Ok(_) => true,
        Err(_) => false,
    })
}

fn unique() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A branch name git accepts as `--initial-branch`; anything else falls back to `main`.
fn initial_branch(name: &str) -> &str {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with(['-', '.', '/'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && name
            .bytes()
            .all(|b| b > b' ' && b != 0x7f && !b"~^:?*[\\".contains(&b));
    if ok { name } else { "main" }
}

fn init_bare(path: &Path, default_branch: &str) -> io::Result<()> {
    run(git()
        .arg("init")
        .arg("--bare")
        .arg("--quiet")
        .arg(format!(
            "--initial-branch={}",
            initial_branch(default_branch)
        ))
        .arg(path))?;
    for (key, value) in [
        // Check what is pushed; reject corrupt or malicious objects before they land.
        ("receive.fsckObjects", "true"),
        // Partial clones (`--filter=blob:none`).
        ("uploadpack.allowFilter", "true"),
        ("core.logAllRefUpdates", "true"),
    ] {
        run(git().arg("-C").arg(path).args(["config", key, value]))?;
    }
    let hooks = path.join("hooks");
    if let Ok(entries) = std::fs::read_dir(&hooks) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().ends_with(".sample") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    install_hook(path)
}

/// Points HEAD at the project's default branch when it points elsewhere (the default branch was
/// changed through the API): the database is the source of truth.
fn sync_head(repo: &Path, default_branch: &str) -> io::Result<()> {
    let wanted = format!("ref: refs/heads/{}\n", initial_branch(default_branch));
    let head = repo.join("HEAD");
    if std::fs::read(&head).is_ok_and(|c| c == wanted.as_bytes()) {
        return Ok(());
    }
    let tmp = repo.join(format!(".HEAD-{}", unique()));
    std::fs::write(&tmp, wanted)?;
    std::fs::rename(&tmp, &head)
}

/// Writes the pre-receive hook when it is missing or differs from this version's.
pub fn install_hook(repo: &Path) -> io::Result<()> {
    let hook = repo.join("hooks").join("pre-receive");
    if std::fs::read(&hook).is_ok_and(|c| c == PRE_RECEIVE_HOOK.as_bytes()) {
        return Ok(());
    }
    std::fs::create_dir_all(repo.join("hooks"))?;
    let tmp = repo
        .join("hooks")
        .join(format!(".pre-receive-{}", unique()));
    std::fs::write(&tmp, PRE_RECEIVE_HOOK)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, &hook)
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{:?} failed: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn housekeeping_packs_loose_objects_once_git_would() {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repositories::new(dir.path().join("repositories"));
        let path = repos.ensure(3, "main").unwrap();
        let loose_17 = || {
            std::fs::read_dir(path.join("objects/17"))
                .map(|d| d.count())
                .unwrap_or(0)
        };
        let packs = || {
            std::fs::read_dir(path.join("objects/pack"))
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.file_name().to_string_lossy().ends_with(".pack"))
                        .count()
                })
                .unwrap_or(0)
        };
        let repo = git2::Repository::open_bare(&path).unwrap();
        // A few objects: nothing to do.
        housekeep(&path);
        let mut tree = repo.treebuilder(None).unwrap();
        for i in 0..9000 {
            let blob = repo.blob(format!("object {i}\n").as_bytes()).unwrap();
            tree.insert(format!("f{i}"), blob, 0o100644).unwrap();
        }
        let tree = repo.find_tree(tree.write().unwrap()).unwrap();
        let sig = git2::Signature::now("T", "t@example.com").unwrap();
        repo.commit(Some("refs/heads/main"), &sig, &sig, "many", &tree, &[])
            .unwrap();
        assert_eq!(packs(), 0);
        assert!(loose_17() * 256 > AUTO_GC_LOOSE_OBJECTS, "{}", loose_17());
        housekeep(&path);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while (packs() == 0 || loose_17() > 0) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(packs(), 1, "packed in the background");
        assert_eq!(loose_17(), 0, "loose copies removed");
        let reopened = git2::Repository::open_bare(&path).unwrap();
        assert_eq!(reopened.head().unwrap().peel_to_tree().unwrap().len(), 9000);
    }

    #[test]
    fn empty_until_a_branch_or_tag_exists_loose_or_packed() {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repositories::new(dir.path().join("repositories"));
        assert!(repos.is_empty(1), "a missing repository is empty");
        let path = repos.ensure(1, "main").unwrap();
        assert!(repos.is_empty(1));
        let repo = git2::Repository::open_bare(&path).unwrap();
        let sig = git2::Signature::now("T", "t@example.com").unwrap();
        let tree = repo
            .find_tree(repo.treebuilder(None).unwrap().write().unwrap())
            .unwrap();
        let commit = repo
            .commit(Some("refs/heads/feature/x"), &sig, &sig, "c", &tree, &[])
            .unwrap();
        assert!(!repos.is_empty(1), "a loose branch in a subdirectory");
        run(git().arg("-C").arg(&path).args(["pack-refs", "--all"])).unwrap();
        assert!(!path.join("refs/heads/feature/x").exists());
        assert!(!repos.is_empty(1), "a packed branch");
        repo.find_reference("refs/heads/feature/x")
            .unwrap()
            .delete()
            .unwrap();
        assert!(repos.is_empty(1), "the last branch deleted");
        repo.reference("refs/tags/v1", commit, false, "t").unwrap();
        assert!(!repos.is_empty(1), "a tag alone");
    }

    #[test]
    fn ensure_creates_once_with_head_and_hook_and_remove_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let repos = Repositories::new(dir.path().join("repositories"));
        let path = repos.ensure(7, "trunk").unwrap();
        assert_eq!(path, dir.path().join("repositories/7.git"));
        let head = std::fs::read_to_string(path.join("HEAD")).unwrap();
        assert_eq!(head.trim(), "ref: refs/heads/trunk");
        let hook = std::fs::read_to_string(path.join("hooks/pre-receive")).unwrap();
        assert_eq!(hook, PRE_RECEIVE_HOOK);
        std::fs::write(path.join("marker"), "x").unwrap();
        repos.ensure(7, "other").unwrap();
        assert!(
            path.join("marker").exists(),
            "an existing repository is kept"
        );
        let head = std::fs::read_to_string(path.join("HEAD")).unwrap();
        assert_eq!(
            head, "ref: refs/heads/other\n",
            "HEAD follows the default branch"
        );
        repos.remove(7).unwrap();
        assert!(!path.exists());
        repos.remove(7).unwrap();
        let odd = repos.ensure(8, "bad..name").unwrap();
        let head = std::fs::read_to_string(odd.join("HEAD")).unwrap();
        assert_eq!(head.trim(), "ref: refs/heads/main");
        let leftovers: Vec<_> = std::fs::read_dir(repos.root())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }
}
