//! The runner process: verify the token, start the workers, handle signals, decide the exit code.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::RunnerOptions;
use crate::api::{self, Verify};
use crate::client::Client;
use crate::control::Shutdown;
use crate::log;
use crate::system_id;
use crate::worker::{self, Event, Setup};

/// How often the token check is tried when the server is not reachable.
const VERIFY_ATTEMPTS: u32 = 10;

/// See [`crate::run`].
pub fn run(options: RunnerOptions) -> ExitCode {
    let work_dir = match std::path::absolute(&options.work_dir) {
        Ok(p) => p,
        Err(e) => {
            log::error(format!("work dir {}: {e}", options.work_dir.display()));
            return ExitCode::from(1);
        }
    };
    if let Err(e) = std::fs::create_dir_all(work_dir.join("builds")) {
        log::error(format!("creating {}: {e}", work_dir.display()));
        return ExitCode::from(1);
    }
    let system_id = match system_id::load_or_create(&work_dir) {
        Ok(id) => id,
        Err(e) => {
            log::error(e);
            return ExitCode::from(1);
        }
    };
    let client = Client::new(&options.url);
    let shutdown = Arc::new(Shutdown::default());
    let (tx, rx) = mpsc::channel::<Event>();
    if let Err(code) = listen_for_signals(tx.clone(), shutdown.clone()) {
        return code;
    }
    if let Err(code) = verify(&client, &options.token, &system_id, &shutdown) {
        return code;
    }
    log::info(format!(
        "runner {} verified at {}, {} worker(s), work dir {}",
        system_id,
        options.url,
        options.concurrency.max(1),
        work_dir.display()
    ));

    let setup = Arc::new(Setup {
        client,
        token: options.token.clone(),
        system_id,
        work_dir,
        poll_interval: options.poll_interval,
        once: options.once,
    });
    let workers = options.concurrency.max(1);
    let mut alive = workers;
    for n in 0..workers {
        let (setup, shutdown, tx) = (setup.clone(), shutdown.clone(), tx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || worker::work(n, &setup, &shutdown, tx));
        if let Err(e) = spawned {
            log::error(format!("starting worker {n}: {e}"));
            alive -= 1;
        }
    }
    drop(tx);
    if alive == 0 {
        return ExitCode::from(1);
    }

    let mut code = 0u8;
    let mut forced_at: Option<Instant> = None;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Event::Signal) => {
                if shutdown.forced() {
                    log::info("stopping now: killing running jobs");
                    forced_at.get_or_insert_with(Instant::now);
                    code = 1;
                } else {
                    log::info("stopping: no new jobs; running jobs get 10 s");
                }
            }
            Ok(Event::JobDone) => {
                if options.once {
                    shutdown.stop();
                }
            }
            Ok(Event::Forbidden) => {
                code = 1;
                shutdown.stop();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Every worker ended (once or forbidden on all of them).
                shutdown.stop();
            }
        }
        if shutdown.stopping() && shutdown.jobs() == 0 {
            break;
        }
        if forced_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2)) {
            break;
        }
    }
    log::info("stopped");
    ExitCode::from(code)
}

/// Check the token; retries while the server is unreachable.
fn verify(
    client: &Client,
    token: &str,
    system_id: &str,
    shutdown: &Shutdown,
) -> Result<(), ExitCode> {
    let mut wait = Duration::from_secs(1);
    for attempt in 1..=VERIFY_ATTEMPTS {
        match api::verify(client, token, system_id) {
            Ok(Verify::Valid) => return Ok(()),
            Ok(Verify::Invalid) => {
                eprintln!("runner token is not valid");
                return Err(ExitCode::from(1));
            }
            Ok(Verify::Other(status)) => log::warn(format!(
                "verifying the runner token: status {status} (attempt {attempt})"
            )),
            Err(e) => log::warn(format!(
                "verifying the runner token: {e} (attempt {attempt})"
            )),
        }
        if attempt == VERIFY_ATTEMPTS || shutdown.sleep(wait) {
            break;
        }
        wait = (wait * 2).min(Duration::from_secs(10));
    }
    log::error("could not verify the runner token");
    Err(ExitCode::from(1))
}

/// Turn SIGTERM and SIGINT into events.
fn listen_for_signals(tx: mpsc::Sender<Event>, shutdown: Arc<Shutdown>) -> Result<(), ExitCode> {
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            log::error(format!("installing signal handlers: {e}"));
            return Err(ExitCode::from(1));
        }
    };
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for (n, _) in signals.forever().enumerate() {
                // Set here, not in the supervisor, so that a verify in progress sees it.
                if n == 0 {
                    shutdown.stop();
                } else {
                    shutdown.force();
                }
                let _ = tx.send(Event::Signal);
            }
        });
    spawned.map(|_| ()).map_err(|e| {
        log::error(format!("starting the signal thread: {e}"));
        ExitCode::from(1)
    })
}
