//! The receive-pack command list, read before git sees it: each ref update is judged on its own
//! (create, update, delete) through the gate's `enforce()` against its own declaration, then
//! against the project's protected branches. A refused push is answered here with a synthesized
//! report-status, and git never runs.

use crate::error::deny_text;
use crate::pkt::{self, Pkt, PktError};
use crate::protected::{self, Rule};
use tinforge_authz::{Principal, Role, Target};
use tinforge_gate::{Endpoint, GateError};
use tokio::io::AsyncRead;

/// The command list is small; a push of very many refs may still need a few MB.
pub const MAX_COMMANDS_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Create,
    Update,
    Delete,
}

impl Kind {
    pub fn verb(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Update => "update",
            Kind::Delete => "delete",
        }
    }
}

/// One `<old> <new> <ref>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub name: String,
}

impl RefUpdate {
    pub fn kind(&self) -> Kind {
        if is_zero(&self.old) {
            Kind::Create
        } else if is_zero(&self.new) {
            Kind::Delete
        } else {
            Kind::Update
        }
    }

    /// The branch name for `refs/heads/…` refs.
    pub fn branch(&self) -> Option<&str> {
        self.name.strip_prefix("refs/heads/")
    }
}

pub use tinforge_ci::service::push_pipelines::is_zero;

/// What the client sent before the pack: the raw bytes (replayed to git), the ref updates and
/// the capabilities it asked for.
#[derive(Debug, Default)]
pub struct Commands {
    pub raw: Vec<u8>,
    pub updates: Vec<RefUpdate>,
    pub capabilities: Vec<String>,
}

impl Commands {
    pub fn has(&self, cap: &str) -> bool {
        self.capabilities.iter().any(|c| c == cap)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Pkt(#[from] PktError),
    #[error("malformed receive-pack command: {0}")]
    Malformed(String),
    #[error("the command list is too long")]
    TooLong,
}

/// Reads pkt-lines up to the flush that ends the command list.
pub async fn read_commands<R: AsyncRead + Unpin>(r: &mut R) -> Result<Commands, CommandError> {
    let mut commands = Commands::default();
    loop {
        let line = pkt::read(r, &mut commands.raw).await?;
        if commands.raw.len() > MAX_COMMANDS_BYTES {
            return Err(CommandError::TooLong);
        }
        let data = match line {
            Pkt::Flush => return Ok(commands),
            Pkt::Data(d) => d,
            Pkt::Delim | Pkt::ResponseEnd => {
                return Err(CommandError::Malformed("unexpected special packet".into()));
            }
        };
        let (line, caps) = match data.iter().position(|b| *b == 0) {
            Some(i) => (&data[..i], Some(&data[i + 1..])),
            None => (&data[..], None),
        };
        let text = std::str::from_utf8(line)
            .map_err(|_| CommandError::Malformed("not UTF-8".into()))?
            .trim_end_matches('\n');
        if let Some(oid) = text.strip_prefix("shallow ") {
            if !is_oid(oid) {
                return Err(CommandError::Malformed(format!(
                    "bad shallow line {text:?}"
                )));
            }
            continue;
        }
        if let Some(caps) = caps {
            if !commands.updates.is_empty() {
                return Err(CommandError::Malformed(
                    "capabilities after the first command".into(),
                ));
            }
            let caps = String::from_utf8_lossy(caps);
            commands.capabilities = caps.split_whitespace().map(str::to_string).collect();
        }
        commands.updates.push(parse_update(text)?);
    }
}

fn is_oid(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn parse_update(text: &str) -> Result<RefUpdate, CommandError> {
    let bad = || CommandError::Malformed(format!("{:?}", truncate(text)));
    let mut parts = text.splitn(3, ' ');
    let (old, new, name) = (
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
    );
    if !is_oid(old) || !is_oid(new) || old.len() != new.len() || (is_zero(old) && is_zero(new)) {
        return Err(bad());
    }
    if name.is_empty() || name.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad());
    }
    Ok(RefUpdate {
        old: old.to_ascii_lowercase(),
        new: new.to_ascii_lowercase(),
        name: name.to_string(),
    })
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(120) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The declared per-ref endpoints (create, update, delete), from the registry.
pub struct RefEndpoints<'a> {
    pub create: &'a Endpoint,
    pub update: &'a Endpoint,
    pub delete: &'a Endpoint,
}

impl RefEndpoints<'_> {
    fn of(&self, kind: Kind) -> &Endpoint {
        match kind {
            Kind::Create => self.create,
            Kind::Update => self.update,
            Kind::Delete => self.delete,
        }
    }
}

/// Judges one ref update: its declaration through `enforce()`, then protected branches (whose
/// push level raises the declared minimum role, again through `enforce()`). Err is the reason
/// given to the client as `ng <ref> <reason>`.
pub fn judge(
    principal: Option<&Principal>,
    target: &Target,
    endpoints: &RefEndpoints<'_>,
    rules: &[Rule],
    update: &RefUpdate,
) -> Result<(), String> {
    let kind = update.kind();
    let what = format!("{} {}", kind.verb(), update.name);
    let endpoint = endpoints.of(kind);
    let reason = |e: GateError| match e {
        GateError::Denied { reason, .. } => deny_text(&reason, &what),
        other => other.to_string(),
    };
    tinforge_gate::authorized::enforce(principal, endpoint, Some(target)).map_err(reason)?;
    let Some(branch) = update.branch() else {
        return Ok(());
    };
    let Some(protection) = protected::protection(rules, branch) else {
        return Ok(());
    };
    if kind == Kind::Delete {
        return Err(format!(
            "protected branch '{branch}' cannot be deleted (unprotect it first)"
        ));
    }
    let Some(push_role) = protection.push_role else {
        return Err(format!(
            "no one is allowed to push to protected branch '{branch}'"
        ));
    };
    let judge = tinforge_gate::Judge {
        principal: principal.cloned(),
        endpoint: endpoint.clone(),
    };
    let raise = &tinforge_authz::requirement::raises::PROTECTED_BRANCH;
    judge
        .raise_to(raise, Some(push_role), Some(target))
        .map_err(|e| match e {
            GateError::Denied {
                reason: tinforge_authz::DenyReason::RoleTooLow { needed, has },
                ..
            } => format!(
                "protected branch '{branch}': pushing needs the {} role, you have {}",
                role_name(needed),
                role_name(has)
            ),
            other => reason(other),
        })
}

fn role_name(r: Role) -> String {
    r.to_string()
}

/// The report-status for a push tinforge refused as a whole: `ng` with the reason for each refused
/// ref, and for the others that they were not applied. Side-band wrapped when the client asked,
/// with the reasons also on band 2 (shown as `remote: …`).
pub fn refused_report(commands: &Commands, verdicts: &[Result<(), String>]) -> Vec<u8> {
    let mut report = pkt::encode(b"unpack ok\n");
    let mut message = String::from("tinforge: push refused, nothing was applied\n");
    for (update, verdict) in commands.updates.iter().zip(verdicts) {
        let reason = match verdict {
            Err(reason) => {
                message.push_str(&format!("tinforge:   {}: {reason}\n", update.name));
                reason.clone()
            }
            Ok(()) => "not applied: another ref of this push was refused (atomic)".to_string(),
        };
        let line = format!("ng {} {}\n", update.name, one_line(&reason));
        report.extend(pkt::encode(clip(line.as_bytes())));
    }
    report.extend_from_slice(pkt::FLUSH);
    let band_size = if commands.has("side-band-64k") {
        Some(pkt::MAX_PKT - 5)
    } else if commands.has("side-band") {
        Some(995)
    } else {
        None
    };
    match band_size {
        None => report,
        Some(size) => {
            // The reasons are no progress: shown even when the client asked for `quiet`.
            let mut out = pkt::sideband_sized(2, message.as_bytes(), size);
            out.extend(pkt::sideband_sized(1, &report, size));
            out.extend_from_slice(pkt::FLUSH);
            out
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn clip(line: &[u8]) -> &[u8] {
    &line[..line.len().min(pkt::MAX_PKT - 4)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const Z: &str = "0000000000000000000000000000000000000000";

    fn body(lines: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for l in lines {
            out.extend(pkt::encode(l.as_bytes()));
        }
        out.extend_from_slice(b"0000PACK....");
        out
    }

    #[tokio::test]
    async fn reads_commands_and_capabilities_up_to_the_flush() {
        let input = body(&[
            &format!("{Z} {A} refs/heads/new\0 report-status side-band-64k agent=git/2\n"),
            &format!("{A} {B} refs/heads/main\n"),
            &format!("{B} {Z} refs/tags/v1\n"),
        ]);
        let mut r = &input[..];
        let c = read_commands(&mut r).await.unwrap();
        assert_eq!(c.updates.len(), 3);
        assert_eq!(c.updates[0].kind(), Kind::Create);
        assert_eq!(c.updates[1].kind(), Kind::Update);
        assert_eq!(c.updates[2].kind(), Kind::Delete);
        assert_eq!(c.updates[1].branch(), Some("main"));
        assert!(c.has("report-status") && c.has("side-band-64k"));
        assert_eq!(r, b"PACK....");
        assert_eq!(c.raw, input[..input.len() - 8]);
    }

    #[tokio::test]
    async fn malformed_commands_are_refused() {
        for bad in [
            format!("{Z} {Z} refs/heads/x\n"),
            format!("{A} {B}\n"),
            format!("{A} zz refs/heads/x\n"),
            format!("{A} {B} refs/heads/a b\n"),
            "garbage".to_string(),
        ] {
            let input = body(&[&bad]);
            let mut r = &input[..];
            assert!(read_commands(&mut r).await.is_err(), "{bad:?}");
        }
        let mut r = &b"00"[..];
        assert!(matches!(
            read_commands(&mut r).await,
            Err(CommandError::Pkt(PktError::Truncated))
        ));
    }

    #[test]
    fn the_refused_report_says_ng_for_every_ref() {
        let commands = Commands {
            raw: Vec::new(),
            updates: vec![
                RefUpdate {
                    old: Z.into(),
                    new: A.into(),
                    name: "refs/heads/a".into(),
                },
                RefUpdate {
                    old: A.into(),
                    new: B.into(),
                    name: "refs/heads/b".into(),
                },
            ],
            capabilities: vec!["report-status".into()],
        };
        let out = refused_report(&commands, &[Err("no\nway".into()), Ok(())]);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("000eunpack ok\n"));
        assert!(text.contains("ng refs/heads/a no way\n"));
        assert!(text.contains("ng refs/heads/b not applied"));
        assert!(text.ends_with("0000"));
    }
}
