//! Image names: a project's full path, optionally followed by image path segments
//! (`acme/app`, `acme/app/tools/builder`), validated by the OCI distribution spec's rules.

use crate::connection::DbConnection;
use crate::error::StoreError;
use crate::projects::{self, ProjectRow};

/// The longest allowed image name (clients cap host + name at 255 characters).
pub const MAX_NAME_LEN: usize = 255;

/// Does `name` follow the OCI name grammar
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`?
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.split('/').all(is_valid_component)
}

fn is_valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: `.`, `_`, `__` or one or more `-`, always between alphanumerics.
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
}

/// Does `tag` follow `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`?
pub fn is_valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'.' | b'_' | b'-'))
}

/// The project an image name belongs to (the longest full path that is a prefix of the name at
/// a segment boundary) and the image path below it (`""` for the project's own image).
pub fn find_project(
    conn: &mut DbConnection,
    image: &str,
) -> Result<Option<(ProjectRow, String)>, StoreError> {
    let segments: Vec<&str> = image.split('/').collect();
    // A project path has a namespace: at least two segments.
    for end in (2..=segments.len()).rev() {
        let prefix = segments[..end].join("/");
        if let Some(p) = projects::find_by_ref(conn, &prefix)? {
            // find_by_ref also takes numeric ids; only a path match names a project here.
            if p.full_path.eq_ignore_ascii_case(&prefix) {
                return Ok(Some((p, segments[end..].join("/"))));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec_grammar() {
        for ok in [
            "a",
            "acme/app",
            "a-b/c.d/e_f",
            "a__b",
            "a--b",
            "x/y/z/w",
            "0/1",
        ] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "", "A/b", "a//b", "/a", "a/", "a_", "-a", "a.-b", "a___b", "a..b", "a b", "a:b",
            "a/.b", "ä",
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
        assert!(!is_valid_name(&"a".repeat(256)));
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        for ok in ["latest", "v1.0", "_x", "A-b_c.d", &"a".repeat(128)] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129), "sha256:abc"] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }
}
