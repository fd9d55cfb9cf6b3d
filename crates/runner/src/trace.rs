//! The job trace: a masked buffer, the sender that PATCHes it, and the final state PUT.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api;
use crate::client::{Client, Response};
use crate::control::JobControl;
use crate::log;
use crate::mask::Masker;

/// The default and the largest pause between two trace patches.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(3);
const MIN_INTERVAL: Duration = Duration::from_millis(500);
/// A keepalive `PUT {state: running}` goes out after this much silence.
const KEEPALIVE: Duration = Duration::from_secs(3);
/// The most one trace PATCH carries (servers cap request bodies; gitlab-runner sends small
/// chunks too), so a burst of output goes out as several PATCHes.
const MAX_PATCH_BYTES: usize = 1024 * 1024;

/// The trace as it will be (or was) sent: already masked.
pub struct Trace {
    inner: Mutex<Inner>,
}

struct Inner {
    masker: Masker,
    data: Vec<u8>,
}

impl Trace {
    /// A trace that masks these values.
    pub fn new(masker: Masker) -> Arc<Trace> {
        Arc::new(Trace {
            inner: Mutex::new(Inner {
                masker,
                data: Vec::new(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Append output (masked).
    pub fn write(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        let out = inner.masker.push(bytes);
        inner.data.extend_from_slice(&out);
    }

    /// Append a line of runner text.
    pub fn line(&self, text: &str) {
        let mut line = text.as_bytes().to_vec();
        line.push(b'\n');
        self.write(&line);
    }

    /// Release what the masker still holds back (at the end of the job).
    pub fn flush(&self) {
        let mut inner = self.lock();
        let out = inner.masker.finish();
        inner.data.extend_from_slice(&out);
    }

    /// The bytes from `offset` on.
    pub fn since(&self, offset: usize) -> Vec<u8> {
        let inner = self.lock();
        inner.data.get(offset..).unwrap_or(&[]).to_vec()
    }

    /// The size so far.
    pub fn size(&self) -> usize {
        self.lock().data.len()
    }

    /// `crc32:%08x` of the whole trace and its size.
    pub fn checksum(&self) -> (String, usize) {
        let inner = self.lock();
        (
            format!("crc32:{:08x}", crc32fast::hash(&inner.data)),
            inner.data.len(),
        )
    }
}

/// Where the sending stands; shared by the background sender and the final flush.
struct SendState {
    sent: usize,
    interval: Duration,
    last_contact: Instant,
    /// 403/404 seen: nothing more goes out.
    dead: bool,
}

/// Sends one job's trace.
#[derive(Clone)]
pub struct Sender {
    client: Client,
    id: u64,
    token: String,
    trace: Arc<Trace>,
    control: Arc<JobControl>,
    state: Arc<Mutex<SendState>>,
}

/// The background thread of a [`Sender`].
pub struct Running {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sender {
    pub fn new(
        client: Client,
        id: u64,
        token: String,
        trace: Arc<Trace>,
        control: Arc<JobControl>,
    ) -> Sender {
        Sender {
            client,
            id,
            token,
            trace,
            control,
            state: Arc::new(Mutex::new(SendState {
                sent: 0,
                interval: DEFAULT_INTERVAL,
                last_contact: Instant::now(),
                dead: false,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, SendState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start patching in the background.
    pub fn start(&self) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let me = self.clone();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut next = Instant::now() + DEFAULT_INTERVAL;
            while !flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                if Instant::now() < next {
                    continue;
                }
                me.tick();
                next = Instant::now() + me.state().interval;
            }
        });
        Running {
            stop,
            handle: Some(handle),
        }
    }

    /// One round: patch what is new, or send a keepalive after a silence.
    fn tick(&self) {
        if self.state().dead {
            return;
        }
        let sent_any = self.send_pending();
        let quiet = self.state().last_contact.elapsed() >= KEEPALIVE;
        if !sent_any && quiet {
            self.keepalive();
        }
    }

    /// PATCH everything not yet sent; returns whether a patch went through.
    pub fn send_pending(&self) -> bool {
        let mut progressed = false;
        for _ in 0..64 {
            let start = {
                let st = self.state();
                if st.dead {
                    return progressed;
                }
                st.sent
            };
            let mut data = self.trace.since(start);
            data.truncate(MAX_PATCH_BYTES);
            if data.is_empty() {
                return progressed;
            }
            let resp = match api::patch_trace(&self.client, self.id, &self.token, start, &data) {
                Ok(r) => r,
                Err(e) => {
                    log::warn(format!("job {}: sending the trace: {e}", self.id));
                    return progressed;
                }
            };
            self.note_contact(&resp);
            match resp.status {
                202 | 200 => {
                    self.state().sent = start + data.len();
                    progressed = true;
                    self.control.apply_status(resp.job_status().as_deref());
                }
                416 => {
                    let total = self.trace.size();
                    let to = resp
                        .header("range")
                        .and_then(api::parse_range_end)
                        .unwrap_or(0)
                        .min(total);
                    self.state().sent = to;
                }
                403 => {
                    log::warn(format!("job {}: trace refused (403), aborting", self.id));
                    self.state().dead = true;
                    self.control.abort();
                    return progressed;
                }
                404 => {
                    log::warn(format!("job {}: job gone (404), aborting", self.id));
                    self.state().dead = true;
                    self.control.abort();
                    return progressed;
                }
                s => {
                    log::warn(format!("job {}: trace patch answered {s}", self.id));
                    return progressed;
                }
            }
        }
        progressed
    }

    fn note_contact(&self, resp: &Response) {
        let mut st = self.state();
        st.last_contact = Instant::now();
        if let Some(secs) = resp
            .header("x-gitlab-trace-update-interval")
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            st.interval = Duration::from_secs(secs).clamp(MIN_INTERVAL, MAX_INTERVAL);
        }
    }

    /// `PUT {state: running}` so that a cancel is seen while the script is silent.
    fn keepalive(&self) {
        match api::update_job(
            &self.client,
            self.id,
            &self.token,
            json!({"state": "running"}),
        ) {
            Ok(resp) => {
                self.note_contact(&resp);
                match resp.status {
                    403 | 404 => {
                        self.state().dead = true;
                        self.control.abort();
                    }
                    _ => self.control.apply_status(resp.job_status().as_deref()),
                }
            }
            Err(e) => log::warn(format!("job {}: keepalive: {e}", self.id)),
        }
    }

    /// Flush the trace and send the final state until the server takes it.
    pub fn finish(&self, mut body: Value) -> bool {
        self.trace.flush();
        for _ in 0..3 {
            self.send_pending();
            let done = {
                let st = self.state();
                st.dead || st.sent >= self.trace.size()
            };
            if done {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let mut errors = 0;
        let mut accepted_waits = 0;
        loop {
            let (checksum, size) = self.trace.checksum();
            body["output"] = json!({"checksum": checksum, "bytesize": size});
            match api::update_job(&self.client, self.id, &self.token, body.clone()) {
                Ok(resp) => match resp.status {
                    200 | 201 | 204 => return true,
                    202 => {
                        accepted_waits += 1;
                        if accepted_waits > 120 {
                            log::warn(format!("job {}: server kept answering 202", self.id));
                            return false;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                    412 => {
                        errors += 1;
                        if errors > 5 {
                            return false;
                        }
                        {
                            let mut st = self.state();
                            st.sent = 0;
                            st.dead = false;
                        }
                        self.send_pending();
                    }
                    403 | 404 => {
                        log::warn(format!(
                            "job {}: final update refused ({})",
                            self.id, resp.status
                        ));
                        return false;
                    }
                    s => {
                        errors += 1;
                        log::warn(format!("job {}: final update answered {s}", self.id));
                        if errors > 5 {
                            return false;
                        }
                        std::thread::sleep(Duration::from_secs(errors));
                    }
                },
                Err(e) => {
                    errors += 1;
                    log::warn(format!("job {}: final update: {e}", self.id));
                    if errors > 5 {
                        return false;
                    }
                    std::thread::sleep(Duration::from_secs(errors));
                }
            }
        }
    }
}

impl Running {
    /// Stop the background thread and wait for it.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_masks_and_checksums() {
        let t = Trace::new(Masker::new(["topsecret"]));
        t.write(b"a top");
        t.write(b"secret b\n");
        assert_eq!(t.since(0), b"a [MASKED] b\n".to_vec());
        t.write(b"tail topsec");
        assert_eq!(t.since(0), b"a [MASKED] b\ntail ".to_vec());
        t.flush();
        let all = t.since(0);
        assert_eq!(all, b"a [MASKED] b\ntail topsec".to_vec());
        let (sum, size) = t.checksum();
        assert_eq!(size, all.len());
        assert_eq!(sum, format!("crc32:{:08x}", crc32fast::hash(&all)));
        assert_eq!(t.since(999), Vec::<u8>::new());
    }
}
