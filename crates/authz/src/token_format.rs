//! The token format: `prefix + 32 random base62 characters + 6 base62 characters of CRC32`.
//! The checksum lets the server reject typos and garbage before touching the database.

use rand::Rng;
use rand::rngs::OsRng;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;

/// The kinds of secret tinforge issues, by prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPrefix {
    PersonalAccess,
    Job,
    Runner,
    /// The web session cookie's secret.
    Session,
}

impl TokenPrefix {
    pub const ALL: [TokenPrefix; 4] = [
        TokenPrefix::PersonalAccess,
        TokenPrefix::Job,
        TokenPrefix::Runner,
        TokenPrefix::Session,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenPrefix::PersonalAccess => "tfpat-",
            TokenPrefix::Job => "tfjob-",
            TokenPrefix::Runner => "tfrun-",
            TokenPrefix::Session => "tfses-",
        }
    }
}

/// A fresh token from the operating system's CSPRNG (32 × log2(62) ≈ 190 bits).
pub fn generate(prefix: TokenPrefix) -> String {
    let mut rng = OsRng;
    let mut token = String::with_capacity(prefix.as_str().len() + RANDOM_LEN + CHECKSUM_LEN);
    token.push_str(prefix.as_str());
    for _ in 0..RANDOM_LEN {
        token.push(BASE62[rng.gen_range(0..62)] as char);
    }
    let sum = checksum(&token);
    token.push_str(&sum);
    token
}

/// The prefix of a well-formed token whose checksum matches, or None: no database access needed.
pub fn check(token: &str) -> Option<TokenPrefix> {
    let prefix = TokenPrefix::ALL
        .into_iter()
        .find(|p| token.starts_with(p.as_str()))?;
    let body = &token[prefix.as_str().len()..];
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (head, sum) = token.split_at(token.len() - CHECKSUM_LEN);
    (checksum(head) == sum).then_some(prefix)
}

fn checksum(head: &str) -> String {
    let mut n = crc32fast::hash(head.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_pass_their_own_check() {
        for prefix in TokenPrefix::ALL {
            let t = generate(prefix);
            assert_eq!(t.len(), prefix.as_str().len() + 38);
            assert_eq!(check(&t), Some(prefix));
        }
        assert_ne!(
            generate(TokenPrefix::PersonalAccess),
            generate(TokenPrefix::PersonalAccess)
        );
    }

    #[test]
    fn typos_and_garbage_fail_the_check() {
        let t = generate(TokenPrefix::PersonalAccess);
        let mut chars: Vec<char> = t.chars().collect();
        chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(check(&typo), None);
        assert_eq!(check(&t[..t.len() - 1]), None);
        assert_eq!(check(&format!("{t}x")), None);
        assert_eq!(check(&t.replacen("tfpat-", "glpat-", 1)), None);
        assert_eq!(check(""), None);
        assert_eq!(check("tfpat-"), None);
        assert_eq!(check("tfpat-ééééééééééééééééééééééééééééééééééééé"), None);
    }
}
