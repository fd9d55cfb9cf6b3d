//! Masking of secret values in the job trace, also across chunk boundaries.

/// What replaces a masked value in the trace.
pub const MASK: &[u8] = b"[MASKED]";

/// A streaming masker: feed it output chunks, it returns what may go into the trace.
///
/// Bytes that could be the start of a secret whose end has not arrived yet are held back
/// until the next chunk (or [`Masker::finish`]) decides.
#[derive(Debug, Default)]
pub struct Masker {
    secrets: Vec<Vec<u8>>,
    pending: Vec<u8>,
}

impl Masker {
    /// A masker for these values; empty values are ignored, longer values win.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut secrets: Vec<Vec<u8>> = secrets
            .into_iter()
            .map(|s| s.as_ref().to_vec())
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Masker {
            secrets,
            pending: Vec::new(),
        }
    }

    /// Mask a chunk; returns the bytes that are safe to publish now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        self.drain(false)
    }

    /// Mask and return everything still held back.
    pub fn finish(&mut self) -> Vec<u8> {
        self.drain(true)
    }

    fn drain(&mut self, last: bool) -> Vec<u8> {
        if self.secrets.is_empty() {
            return std::mem::take(&mut self.pending);
        }
        let buf = std::mem::take(&mut self.pending);
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        'scan: while i < buf.len() {
            let rest = &buf[i..];
            if !last
                && self
                    .secrets
                    .iter()
                    .any(|s| rest.len() < s.len() && s.starts_with(rest))
            {
                self.pending = rest.to_vec();
                break 'scan;
            }
            for secret in &self.secrets {
                if rest.starts_with(secret) {
                    out.extend_from_slice(MASK);
                    i += secret.len();
                    continue 'scan;
                }
            }
            out.push(buf[i]);
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(secrets: &[&str], chunks: &[&str]) -> String {
        let mut m = Masker::new(secrets);
        let mut out = Vec::new();
        for c in chunks {
            out.extend(m.push(c.as_bytes()));
        }
        out.extend(m.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn masks_whole_values() {
        assert_eq!(
            run(&["s3cr3t"], &["a s3cr3t b s3cr3t"]),
            "a [MASKED] b [MASKED]"
        );
    }

    #[test]
    fn masks_across_chunk_boundaries() {
        assert_eq!(
            run(&["s3cr3tvalue"], &["x s3c", "r3tv", "alue y"]),
            "x [MASKED] y"
        );
        for split in 0..=15 {
            let text = "ab s3cr3tvalue!";
            let (a, b) = text.split_at(split);
            assert_eq!(
                run(&["s3cr3tvalue"], &[a, b]),
                "ab [MASKED]!",
                "split {split}"
            );
        }
    }

    #[test]
    fn holds_back_only_possible_prefixes() {
        let mut m = Masker::new(["secret"]);
        assert_eq!(m.push(b"hello sec"), b"hello ".to_vec());
        assert_eq!(m.push(b"ond"), b"second".to_vec());
        assert_eq!(m.push(b" sec"), b" ".to_vec());
        assert_eq!(m.finish(), b"sec".to_vec());
    }

    #[test]
    fn longest_value_wins_and_no_secrets_passes_through() {
        assert_eq!(
            run(&["abc", "abcdef"], &["abcdef abc"]),
            "[MASKED] [MASKED]"
        );
        assert_eq!(run(&["abc", "abcdef"], &["abcd", "ef"]), "[MASKED]");
        assert_eq!(run(&[""], &["plain", " text"]), "plain text");
    }

    #[test]
    fn repeated_prefix_characters() {
        assert_eq!(run(&["aab"], &["a", "a", "a", "b"]), "a[MASKED]");
    }
}
