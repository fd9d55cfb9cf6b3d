//! Registry push and pull speed: one ~100 MB OCI image (5 layers of ~20 MB of random,
//! uncompressed tar, plus a config), pushed with the real `skopeo` to tinforge (as a user with a
//! fine-grained `container_registry:create,read` token, through the 401 → `/jwt/auth` → Bearer
//! dance) and to the CNCF distribution registry (Debian's `docker-registry`, no auth: the
//! baseline), under a fresh repository name per run, then pulled back from each into a fresh
//! `dir:`; several runs each, interleaved. Prints per-run times, the medians, the ratios
//! (distribution time / tinforge time: 1.0 is parity, above is faster than distribution) and each
//! server's peak RSS and CPU time. Not a test: nothing is asserted about time.
//!
//! Run: `cargo bench --bench registry_push_pull` (release). Knobs: `TINFORGE_BENCH_RUNS` (5),
//! `TINFORGE_BENCH_LAYER_MB` (20), `TINFORGE_BENCH_LAYERS` (5). Nothing is downloaded: the image
//! is generated; it needs `skopeo` and `docker-registry` (`apt-get install skopeo
//! docker-registry`). Both servers keep their blobs in the same temporary directory.
//!
//! skopeo is run with `--preserve-digests` (else it gzips uncompressed layers on the way and the
//! client's gzip dominates the times) and with a fresh HOME per call, so its blob info cache never
//! turns an upload into a cross-repository mount.

#[allow(dead_code)]
#[path = "../tests/common/distribution.rs"]
mod distribution;
#[allow(dead_code)]
#[path = "../tests/common/oci.rs"]
mod oci;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

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
    let runs = env_num("TINFORGE_BENCH_RUNS", 5).max(1);
    let layer_mb = env_num("TINFORGE_BENCH_LAYER_MB", 20).max(1) as u64;
    let layers = env_num("TINFORGE_BENCH_LAYERS", 5).max(1);
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path().join("data");

    let started = Instant::now();
    let specs: Vec<oci::LayerSpec> = (0..layers as u64)
        .map(|i| oci::LayerSpec::tar(layer_mb << 20, 1000 + i))
        .collect();
    let image = oci::build_image(&tmp.path().join("image"), "bench", &specs);
    eprintln!(
        "image: {} layers, {:.1} MB in all, built in {:.1}s",
        image.layer_digests.len(),
        image.total_size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // distribution: the reference, no auth.
    let reference = distribution::Distribution::start_with(false);

    // tinforge: a user, a project over REST, a fine-grained registry token for the pushes.
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
            "registry",
            "--grants",
            "container_registry:create,container_registry:read",
            "--boundary",
            "all_memberships",
        ],
    );
    let (mut server, base) = start_server(&data);
    let tinforge_host = base.strip_prefix("http://").unwrap_or(&base).to_string();
    let ready = tinforge_ready(&base);
    let mut failed = false;
    if let Err(why) = &ready {
        eprintln!("\nNOT MEASURING TINFORGE: {why}\n(only distribution is measured below)\n");
        failed = true;
    } else {
        let project = ureq::post(&format!("{base}/api/v4/projects"))
            .set("PRIVATE-TOKEN", &api)
            .send_json(serde_json::json!({"name": "reg", "path": "reg", "visibility": "private"}));
        if let Err(e) = project {
            eprintln!("\nNOT MEASURING TINFORGE: creating project bench/reg failed: {e}\n");
            failed = true;
        }
    }
    let mut measure_tinforge = !failed;

    let creds = format!("bench:{token}");
    let mut t_push = Vec::new();
    let mut t_pull = Vec::new();
    let mut d_push = Vec::new();
    let mut d_pull = Vec::new();
    println!(
        "run   tinforge push   pull   |   distribution push   pull   (ms; run 0 warms up, not counted)"
    );
    for i in 0..=runs {
        let name = format!("bench/reg/run-{i}");
        let mut tp = (f64::NAN, f64::NAN);
        if measure_tinforge {
            match push_pull(&image, &tinforge_host, &name, Some(&creds), tmp.path(), i) {
                Ok(t) => tp = t,
                Err(e) => {
                    eprintln!("\ntinforge run {i} failed, not measuring it further:\n{e}\n");
                    measure_tinforge = false;
                    failed = true;
                }
            }
        }
        let dp = push_pull(&image, &reference.host, &name, None, tmp.path(), i)
            .unwrap_or_else(|e| panic!("distribution run {i}: {e}"));
        println!(
            "{i:>3}   {:>13}   {:>4}   |   {:>17}   {:>4}",
            ms(tp.0),
            ms(tp.1),
            ms(dp.0),
            ms(dp.1)
        );
        if i > 0 {
            if measure_tinforge {
                t_push.push(tp.0);
                t_pull.push(tp.1);
            }
            d_push.push(dp.0);
            d_pull.push(dp.1);
        }
    }

    let mb = image.total_size as f64 / 1e6;
    println!(
        "\nskopeo copy of a {mb:.0} MB image ({} layers), {runs} runs each (median):",
        image.layer_digests.len()
    );
    let (dm_push, dm_pull) = (median(&mut d_push), median(&mut d_pull));
    if !t_push.is_empty() {
        let (tm_push, tm_pull) = (median(&mut t_push), median(&mut t_pull));
        println!(
            "  push  tinforge     : {:8.1} ms  {:6.1} MB/s",
            tm_push * 1e3,
            mb / tm_push
        );
        println!(
            "  push  distribution : {:8.1} ms  {:6.1} MB/s",
            dm_push * 1e3,
            mb / dm_push
        );
        println!(
            "  pull  tinforge     : {:8.1} ms  {:6.1} MB/s",
            tm_pull * 1e3,
            mb / tm_pull
        );
        println!(
            "  pull  distribution : {:8.1} ms  {:6.1} MB/s",
            dm_pull * 1e3,
            mb / dm_pull
        );
        println!(
            "  ratio push (distribution time / tinforge time): {:.3}  (goal >= 0.95)",
            dm_push / tm_push
        );
        println!(
            "  ratio pull (distribution time / tinforge time): {:.3}  (goal >= 0.95)",
            dm_pull / tm_pull
        );
    } else {
        println!(
            "  push  distribution : {:8.1} ms  {:6.1} MB/s",
            dm_push * 1e3,
            mb / dm_push
        );
        println!(
            "  pull  distribution : {:8.1} ms  {:6.1} MB/s",
            dm_pull * 1e3,
            mb / dm_pull
        );
        println!("  tinforge: not measured (see above)");
    }
    println!("  (tinforge with token auth on every run; distribution without auth)");
    for (label, pid) in [("tinforge", server.id()), ("distribution", reference.pid())] {
        println!(
            "  {label:<12} peak RSS {}  CPU {}",
            proc_status(pid, "VmHWM").unwrap_or_else(|| "?".into()),
            cpu_seconds(pid).map_or("?".into(), |s| format!("{s:.2} s"))
        );
    }
    let _ = server.kill();
    let _ = server.wait();
    drop(reference);
    if failed {
        std::process::exit(1);
    }
}

/// One push to `host/<name>:t` and one pull of it into a fresh `dir:`; (push s, pull s).
fn push_pull(
    image: &oci::OciImage,
    host: &str,
    name: &str,
    creds: Option<&str>,
    tmp: &Path,
    run: usize,
) -> Result<(f64, f64), String> {
    let target = format!("docker://{host}/{name}:t");
    let source = image.reference();
    let mut push = vec![
        "copy",
        "-q",
        "--preserve-digests",
        "--dest-tls-verify=false",
    ];
    match creds {
        Some(c) => push.extend(["--dest-creds", c]),
        None => push.push("--dest-no-creds"),
    }
    push.extend([source.as_str(), target.as_str()]);
    let started = Instant::now();
    oci::try_skopeo(&push).map_err(|e| format!("skopeo {}:\n{e}", push.join(" ")))?;
    let push_s = started.elapsed().as_secs_f64();

    let out = tmp.join(format!(
        "pull-{}-{run}",
        if creds.is_some() { "t" } else { "d" }
    ));
    let dest = format!("dir:{}", out.display());
    let mut pull = vec!["copy", "-q", "--src-tls-verify=false"];
    match creds {
        Some(c) => pull.extend(["--src-creds", c]),
        None => pull.push("--src-no-creds"),
    }
    pull.extend([target.as_str(), dest.as_str()]);
    let started = Instant::now();
    oci::try_skopeo(&pull).map_err(|e| format!("skopeo {}:\n{e}", pull.join(" ")))?;
    let pull_s = started.elapsed().as_secs_f64();
    if run == 0 {
        // Once, outside the timing: the pulled image is the pushed one, byte for byte.
        let check = std::panic::catch_unwind(|| oci::assert_dir_copy(image, &out));
        if check.is_err() {
            return Err(format!(
                "the image pulled from {host} is not the one pushed"
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    Ok((push_s, pull_s))
}

/// Ok when tinforge serves the registry: `GET /v2/` answers 200 or a 401 Bearer challenge.
fn tinforge_ready(base: &str) -> Result<(), String> {
    let res = ureq::get(&format!("{base}/v2/")).call();
    let (status, challenge) = match res {
        Ok(r) => (r.status(), r.header("www-authenticate").map(str::to_string)),
        Err(ureq::Error::Status(code, r)) => {
            (code, r.header("www-authenticate").map(str::to_string))
        }
        Err(e) => return Err(format!("GET {base}/v2/: {e}")),
    };
    match (status, challenge) {
        (200, _) => Ok(()),
        (401, Some(c)) if c.starts_with("Bearer ") => Ok(()),
        (404, _) => Err(format!(
            "GET {base}/v2/ answered 404: this tinforge build has no container registry \
             (the registry surface is not mounted under /v2/)"
        )),
        (401, c) => Err(format!(
            "GET {base}/v2/ answered 401 without a Bearer challenge (WWW-Authenticate: {c:?})"
        )),
        (s, _) => Err(format!("GET {base}/v2/ answered {s}")),
    }
}

fn ms(s: f64) -> String {
    if s.is_nan() {
        "-".into()
    } else {
        format!("{:.0}", s * 1e3)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A field of `/proc/<pid>/status` (`VmHWM`: peak resident set size).
fn proc_status(pid: u32, field: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// User + system CPU time of a process so far (`/proc/<pid>/stat`, in clock ticks).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<f64>().ok())
        .unwrap_or(100.0);
    Some(ticks / hz)
}
