//! Upload sessions in flight on this instance: one lock per upload, so chunks of one upload are
//! written one after another, and the running hash of what was received, so finishing an upload
//! does not read the blob again. After a restart (or on another instance) the hash is rebuilt
//! from the staged bytes.

use crate::digest::{Algorithm, Hasher};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The hash of an upload's first `size` bytes.
pub struct SessionState {
    pub hasher: Option<Hasher>,
    pub size: u64,
}

#[derive(Default)]
pub struct UploadSessions {
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<SessionState>>>>,
}

impl UploadSessions {
    /// The lock of upload `id`.
    pub fn get(&self, id: &str) -> Arc<tokio::sync::Mutex<SessionState>> {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(id.to_string())
            .or_insert_with(|| {
                Arc::new(tokio::sync::Mutex::new(SessionState {
                    hasher: None,
                    size: 0,
                }))
            })
            .clone()
    }

    pub fn forget(&self, id: &str) {
        let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

/// Hashes a staged file from the start (a session whose running hash is not here).
pub fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<(Hasher, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Hasher::new(algorithm);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher, size))
}
