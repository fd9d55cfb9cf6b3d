//! The CNCF distribution registry (Debian's `docker-registry`, distribution 2.8) as a reference:
//! started on a free loopback port with filesystem storage in a temporary directory and no auth,
//! ready once `GET /v2/` answers, killed on drop.
//!
//! Self-contained (std, `tempfile`, `ureq`) so the benches can include it with `#[path]`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs distribution's `registry` binary.
pub const DISTRIBUTION_BIN: &str = "/usr/bin/docker-registry";

/// A running distribution registry.
pub struct Distribution {
    child: Child,
    /// `127.0.0.1:<port>`, the host part of `docker://` references.
    pub host: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Distribution {
    /// Starts one with its access log on (into [`Distribution::log`]).
    pub fn start() -> Distribution {
        Distribution::start_with(true)
    }

    /// Starts one; `access_log` false keeps it quiet (for timing).
    pub fn start_with(access_log: bool) -> Distribution {
        Distribution::start_configured(access_log, None)
    }

    /// Starts one with an `auth:` section, given as the YAML lines below `auth:` (indented by
    /// two spaces), for instance token auth against tinforge's `/jwt/auth` (`token:` with
    /// `realm`, `service`, `issuer` and `rootcertbundle`, distribution's config format).
    pub fn start_configured(access_log: bool, auth: Option<&str>) -> Distribution {
        let bin = std::env::var("TINFORGE_DISTRIBUTION_BIN")
            .unwrap_or_else(|_| DISTRIBUTION_BIN.to_string());
        let mut last_error = String::new();
        // The port is picked by binding and released before the registry binds it: retry if
        // someone else took it in between.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            let port = free_port();
            let config = dir.path().join("config.yml");
            let mut yaml = config_yaml(&dir.path().join("storage"), port, access_log);
            if let Some(auth) = auth {
                yaml.push_str("auth:\n");
                yaml.push_str(auth);
            }
            std::fs::write(&config, yaml).expect("write the registry config");
            let log = std::fs::File::create(dir.path().join("registry.log")).expect("log file");
            let child = Command::new(&bin)
                .arg("serve")
                .arg(&config)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("HOME", dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("log file")))
                .stderr(Stdio::from(log))
                .spawn()
                .unwrap_or_else(|e| panic!("start {bin} (apt-get install docker-registry): {e}"));
            let mut registry = Distribution {
                child,
                host: format!("127.0.0.1:{port}"),
                port,
                dir,
            };
            match registry.wait_ready(Duration::from_secs(20)) {
                Ok(()) => return registry,
                Err(e) => last_error = format!("{e}\n{}", registry.log()),
            }
        }
        panic!("distribution did not start:\n{last_error}");
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        let url = format!("http://{}/v2/", self.host);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("distribution exited: {status}"));
            }
            match ureq::get(&url).timeout(Duration::from_secs(2)).call() {
                Ok(_) | Err(ureq::Error::Status(..)) => return Ok(()),
                Err(_) if started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(format!("GET {url}: {e}")),
            }
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.host)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its storage root (`docker/registry/v2/…` below it).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// What it logged so far (the access log too, when on).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- distribution log ----\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The format of Debian's `/etc/docker/registry/config.yml`, minus htpasswd auth, with deletes
/// on and everything in `storage`. Without an `auth:` section `/v2/` answers 200 to anyone.
fn config_yaml(storage: &Path, port: u16, access_log: bool) -> String {
    format!(
        "version: 0.1
log:
  level: {level}
  accesslog:
    disabled: {no_access_log}
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: tinforge-test-reference-registry
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: false
",
        level = if access_log { "info" } else { "error" },
        no_access_log = !access_log,
        storage = storage.display(),
    )
}
