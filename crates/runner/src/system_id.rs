//! The runner's `system_id` ("s_" + 12 hex digits), kept in `<work_dir>/.runner_system_id`.

use std::path::Path;

use crate::error::{Error, Result};

const FILE: &str = ".runner_system_id";

fn valid(id: &str) -> bool {
    id.strip_prefix("s_")
        .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The id stored in `work_dir`, made and stored when missing or malformed.
pub fn load_or_create(work_dir: &Path) -> Result<String> {
    let path = work_dir.join(FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if valid(id) {
            return Ok(id.to_string());
        }
    }
    let hex = uuid::Uuid::new_v4().simple().to_string();
    let id = format!("s_{}", &hex[..12]);
    std::fs::write(&path, format!("{id}\n")).map_err(|e| Error::io_path("writing", &path, e))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let id = load_or_create(dir.path()).unwrap();
        assert!(valid(&id), "{id}");
        assert_eq!(load_or_create(dir.path()).unwrap(), id);
        std::fs::write(dir.path().join(FILE), "garbage").unwrap();
        let other = load_or_create(dir.path()).unwrap();
        assert!(valid(&other));
        assert!(!valid("s_12345") && !valid("x_123456789abc") && !valid("s_12345678zabc"));
    }
}
