//! Clone speed: a repository of 10,000 commits cloned through tinforge's smart HTTP and through
//! `git http-backend` (CGI, behind a minimal HTTP bridge written here), from the very same bare
//! repository on disk, several runs each, interleaved. Prints the medians and the ratio
//! (git http-backend time / tinforge time: 1.0 is parity, above is faster than git's own).
//!
//! Run: `cargo bench --bench git_clone` (release). Knobs: `TINFORGE_BENCH_COMMITS` (10000),
//! `TINFORGE_BENCH_RUNS` (7). Nothing is downloaded; it needs `git` and its `http-backend`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/server.rs"]
mod server;

use server::{cli, start_server};

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; any other filter argument is ignored.
    let commits = env_num("TINFORGE_BENCH_COMMITS", 10_000);
    let runs = env_num("TINFORGE_BENCH_RUNS", 7).max(1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    // tinforge with a user, a private project (over REST) and a read token.
    cli(
        &data,
        &[
            "user",
            "create",
            "--username",
            "bench",
            "--password",
            "password123",
        ],
    );
    let api = cli(
        &data,
        &[
            "token", "create", "--user", "bench", "--name", "a", "--scopes", "api",
        ],
    );
    let token = cli(
        &data,
        &[
            "token",
            "create",
            "--user",
            "bench",
            "--name",
            "b",
            "--scopes",
            "read_repository",
        ],
    );
    let (mut server, base) = start_server(&data);
    let post = |path: &str, body: serde_json::Value| -> serde_json::Value {
        ureq::post(&format!("{base}{path}"))
            .set("PRIVATE-TOKEN", &api)
            .send_json(body)
            .expect("seed over REST")
            .into_json()
            .expect("JSON")
    };
    let group = post(
        "/api/v4/groups",
        serde_json::json!({"name": "perf", "path": "perf", "visibility": "private"}),
    );
    let project = post(
        "/api/v4/projects",
        serde_json::json!({"name": "repo", "path": "repo", "namespace_id": group["id"],
                           "visibility": "private", "default_branch": "main"}),
    );
    let project_id = project["id"].as_i64().expect("project id");
    let tinforge_url =
        base.replacen("http://", &format!("http://bench:{token}@"), 1) + "/perf/repo.git";

    // The first request creates the repository; fill it with fast-import and pack it.
    git(&home, tmp.path(), &["ls-remote", &tinforge_url]);
    let repo = data.join(format!("repositories/{project_id}.git"));
    let started = Instant::now();
    fill(&repo, commits);
    git(
        &home,
        &repo,
        &["repack", "-a", "-d", "-q", "--write-bitmap-index"],
    );
    let count = git(&home, &repo, &["rev-list", "--count", "main"]);
    eprintln!(
        "repository: {} commits, filled and packed in {:.1}s",
        count.trim(),
        started.elapsed().as_secs_f64()
    );

    // git http-backend over the same repository.
    let bridge = Bridge::start(data.join("repositories"));
    let backend_url = format!("http://127.0.0.1:{}/{project_id}.git", bridge.port);

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..=runs {
        let a = clone_time(&home, tmp.path(), &tinforge_url, &format!("t{i}"));
        let b = clone_time(&home, tmp.path(), &backend_url, &format!("b{i}"));
        // The first round warms caches and is not counted.
        if i > 0 {
            ours.push(a);
            theirs.push(b);
        }
    }
    let (m_ours, m_theirs) = (median(&mut ours), median(&mut theirs));
    println!("git clone of {commits} commits, {runs} runs each (median):");
    println!(
        "  tinforge smart HTTP : {:8.1} ms  {:?}",
        m_ours * 1e3,
        ms(&ours)
    );
    println!(
        "  git http-backend    : {:8.1} ms  {:?}",
        m_theirs * 1e3,
        ms(&theirs)
    );
    println!(
        "  ratio (http-backend time / tinforge time): {:.3}  (goal >= 0.95)",
        m_theirs / m_ours
    );
    let _ = server.kill();
    let _ = server.wait();
}

fn ms(v: &[f64]) -> Vec<u64> {
    v.iter().map(|s| (s * 1e3).round() as u64).collect()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn git_cmd(home: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR");
    cmd
}

fn git(home: &Path, cwd: &Path, args: &[&str]) -> String {
    let out = git_cmd(home, cwd).args(args).output().expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn clone_time(home: &Path, dir: &Path, url: &str, name: &str) -> f64 {
    let target = dir.join(name);
    let started = Instant::now();
    git(
        home,
        dir,
        &["clone", "--bare", "-q", url, target.to_str().unwrap()],
    );
    let elapsed = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&target).unwrap();
    elapsed
}

/// `commits` commits on `main`, each changing one of 50 files, through `git fast-import`.
fn fill(repo: &Path, commits: usize) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .env("GIT_DIR", repo)
        .stdin(Stdio::piped())
        .spawn()
        .expect("fast-import");
    {
        let mut w = std::io::BufWriter::new(child.stdin.take().unwrap());
        for i in 0..commits {
            let content = format!(
                "file {} revision {i}\n{}\n",
                i % 50,
                "lorem ipsum dolor sit amet, consectetur adipiscing elit\n".repeat(20 + i % 30)
            );
            let message = format!("commit {i}\n");
            write!(
                w,
                "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{}",
                1_700_000_000 + i,
                message.len(),
                message
            )
            .unwrap();
            write!(
                w,
                "M 644 inline src/f{}.txt\ndata {}\n{}\n",
                i % 50,
                content.len(),
                content
            )
            .unwrap();
        }
        w.flush().unwrap();
    }
    assert!(child.wait().unwrap().success(), "fast-import failed");
}

/// A minimal HTTP/1.1 server that runs `git http-backend` as CGI, one thread and one connection
/// per request, streaming the request body into the CGI and its output back.
struct Bridge {
    port: u16,
}

impl Bridge {
    fn start(root: PathBuf) -> Bridge {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                std::thread::spawn(move || {
                    let _ = serve_cgi(stream, &root);
                });
            }
        });
        Bridge { port }
    }
}

fn serve_cgi(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("GET").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env_remove("GIT_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (name, env) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-length", "CONTENT_LENGTH"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(v) = header(name) {
            cmd.env(env, v);
        }
    }
    let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length: u64 = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || -> std::io::Result<()> {
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                if n == 0 {
                    let mut end = String::new();
                    reader.read_line(&mut end)?;
                    break;
                }
                let mut buf = vec![0u8; n + 2];
                reader.read_exact(&mut buf)?;
                stdin.write_all(&buf[..n])?;
            }
        } else {
            std::io::copy(&mut (&mut reader).take(length), &mut stdin)?;
        }
        Ok(())
    });
    let mut out = BufReader::with_capacity(64 * 1024, child.stdout.take().unwrap());
    let mut status = "200 OK".to_string();
    let mut response_headers = String::new();
    loop {
        line.clear();
        out.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        match l.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_string(),
            _ => response_headers.push_str(&format!("{l}\r\n")),
        }
    }
    let mut socket = stream;
    socket.write_all(
        format!("HTTP/1.1 {status}\r\n{response_headers}Connection: close\r\n\r\n").as_bytes(),
    )?;
    std::io::copy(&mut out, &mut socket)?;
    let _ = feeder.join();
    let _ = child.wait();
    Ok(())
}
