//! pkt-lines (gitprotocol-common): 4 hex digits of total length, then the payload; `0000` flush,
//! `0001` delim, `0002` response end. Reading keeps the raw bytes, so a parsed section can be
//! replayed to `git` unchanged.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The longest pkt-line, header included.
pub const MAX_PKT: usize = 65520;
/// The most payload one side-band packet carries (band byte excluded).
const MAX_SIDEBAND_DATA: usize = MAX_PKT - 5;

pub const FLUSH: &[u8] = b"0000";

/// One parsed pkt-line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pkt {
    Flush,
    Delim,
    ResponseEnd,
    Data(Vec<u8>),
}

/// Why a pkt-line stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PktError {
    #[error("malformed pkt-line: bad length {0:?}")]
    BadLength(String),
    #[error("the request ended inside a pkt-line")]
    Truncated,
    #[error("the request body could not be read: {0}")]
    Io(std::io::Error),
}

/// Reads one pkt-line, appending its raw bytes to `raw`.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R, raw: &mut Vec<u8>) -> Result<Pkt, PktError> {
    let mut head = [0u8; 4];
    read_exact(r, &mut head).await?;
    raw.extend_from_slice(&head);
    let len = parse_len(&head)?;
    match len {
        0 => return Ok(Pkt::Flush),
        1 => return Ok(Pkt::Delim),
        2 => return Ok(Pkt::ResponseEnd),
        3 => return Err(PktError::BadLength(String::from_utf8_lossy(&head).into())),
        _ => {}
    }
    let mut data = vec![0u8; len - 4];
    read_exact(r, &mut data).await?;
    raw.extend_from_slice(&data);
    Ok(Pkt::Data(data))
}

async fn read_exact<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> Result<(), PktError> {
    match r.read_exact(buf).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(PktError::Truncated),
        Err(e) => Err(PktError::Io(e)),
    }
}

/// The length a 4-byte header announces.
pub fn parse_len(head: &[u8; 4]) -> Result<usize, PktError> {
    let bad = || PktError::BadLength(String::from_utf8_lossy(head).into());
    let text = std::str::from_utf8(head).map_err(|_| bad())?;
    if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let len = usize::from_str_radix(text, 16).map_err(|_| bad())?;
    if len > MAX_PKT {
        return Err(bad());
    }
    Ok(len)
}

/// Encodes one pkt-line (the payload must fit).
pub fn encode(payload: &[u8]) -> Vec<u8> {
    debug_assert!(payload.len() + 4 <= MAX_PKT);
    let mut out = format!("{:04x}", payload.len() + 4).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Wraps `data` into side-band-64k packets of `band` (1 data, 2 progress, 3 error).
pub fn sideband(band: u8, data: &[u8]) -> Vec<u8> {
    sideband_sized(band, data, MAX_SIDEBAND_DATA)
}

/// Side-band packets carrying at most `size` bytes each (995 for the old `side-band`).
pub fn sideband_sized(band: u8, data: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 16);
    for chunk in data.chunks(size.clamp(1, MAX_SIDEBAND_DATA)) {
        let mut payload = Vec::with_capacity(chunk.len() + 1);
        payload.push(band);
        payload.extend_from_slice(chunk);
        out.extend(encode(&payload));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_lines_and_specials_keeping_raw_bytes() {
        let input = b"0009hello0000000100020006ab".to_vec();
        let mut r = &input[..];
        let mut raw = Vec::new();
        assert_eq!(
            read(&mut r, &mut raw).await.unwrap(),
            Pkt::Data(b"hello".to_vec())
        );
        assert_eq!(read(&mut r, &mut raw).await.unwrap(), Pkt::Flush);
        assert_eq!(read(&mut r, &mut raw).await.unwrap(), Pkt::Delim);
        assert_eq!(read(&mut r, &mut raw).await.unwrap(), Pkt::ResponseEnd);
        assert_eq!(
            read(&mut r, &mut raw).await.unwrap(),
            Pkt::Data(b"ab".to_vec())
        );
        assert_eq!(raw, input);
        assert!(matches!(
            read(&mut r, &mut raw).await,
            Err(PktError::Truncated)
        ));
    }

    #[tokio::test]
    async fn refuses_bad_headers_and_truncation() {
        for bad in [&b"zzzz"[..], b"0003", b"fff1", b"00\xff1"] {
            let mut r = bad;
            assert!(matches!(
                read(&mut r, &mut Vec::new()).await,
                Err(PktError::BadLength(_))
            ));
        }
        let mut r = &b"0010abc"[..];
        assert!(matches!(
            read(&mut r, &mut Vec::new()).await,
            Err(PktError::Truncated)
        ));
    }

    #[test]
    fn encodes_lines_and_sideband() {
        assert_eq!(
            encode(b"# service=git-upload-pack\n"),
            b"001e# service=git-upload-pack\n"
        );
        assert_eq!(sideband(2, b"hi"), b"0007\x02hi");
        let big = vec![b'x'; MAX_SIDEBAND_DATA + 1];
        let out = sideband(1, &big);
        assert_eq!(&out[..4], b"fff0");
        assert_eq!(out.len(), MAX_PKT + 6);
    }
}
