//! Registry bearer tokens: the RSA signing key (loaded from, or generated into, a PEM file), and
//! issuing and verifying the RS256 JWTs that `/jwt/auth` hands out and `/v2/` accepts.
//!
//! The token carries the Docker token-spec claims (`iss`, `sub`, `aud` = service, `exp`, `nbf`,
//! `iat`, `jti`, `access`) plus our `user_id` / `token_id`, so that the registry can re-check the
//! personal access token behind a JWT before a write. The header `kid` is the libtrust key id of
//! the signing key (what distribution 2.x and GitLab's registry expect).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use chrono::{SecondsFormat, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use rsa::RsaPrivateKey;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Token lifetime when none is configured (GitLab's default of 5 minutes).
pub const DEFAULT_LIFETIME_SECS: i64 = 300;
/// The token spec says `expires_in` is never below 60 seconds.
pub const MIN_LIFETIME_SECS: i64 = 60;
/// `nbf` is set this far in the past, for clients and registries with a slightly slow clock.
pub const NOT_BEFORE_SKEW_SECS: i64 = 5;
/// Leeway on `exp` / `nbf` when verifying.
pub const VERIFY_LEEWAY_SECS: u64 = 5;
/// Size of a generated signing key.
pub const KEY_BITS: usize = 2048;

/// What went wrong with a token or with the signing key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The presented JWT is not acceptable (bad signature, expired, wrong audience, …).
    #[error("invalid registry token: {0}")]
    Invalid(String),
    /// The signing key could not be read, parsed, generated or written, or signing failed.
    #[error("registry signing key: {0}")]
    Key(String),
}

fn key_error(context: impl fmt::Display, err: impl fmt::Display) -> TokenError {
    TokenError::Key(format!("{context}: {err}"))
}

/// The RSA key pair that signs and verifies registry tokens, with its libtrust key id.
pub struct SigningKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    public_key_pem: String,
}

impl fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Loads the PKCS#8 PEM private key at `path`, or, when there is no file yet, generates an
    /// RSA 2048 key and writes it there (mode 0600, parent directories created). The new file
    /// appears atomically; if another process wrote one first, that key is loaded instead.
    pub fn load_or_generate(path: &Path) -> Result<SigningKeys, TokenError> {
        match fs::read_to_string(path) {
            Ok(pem) => {
                warn_if_readable_by_others(path);
                Self::from_pem(&pem).map_err(|err| key_error(path.display(), err))
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Self::generate_into(path),
            Err(err) => Err(key_error(
                format_args!("cannot read {}", path.display()),
                err,
            )),
        }
    }

    /// Parses an RSA private key PEM: PKCS#8 (`PRIVATE KEY`), or PKCS#1 (`RSA PRIVATE KEY`) as
    /// written by older tools. Keys below 2048 bits are refused.
    pub fn from_pem(pem: &str) -> Result<SigningKeys, TokenError> {
        let private_key = RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|err| key_error("not an RSA private key PEM (PKCS#8 or PKCS#1)", err))?;
        if private_key.size() * 8 < KEY_BITS {
            return Err(TokenError::Key(format!(
                "the RSA key has {} bits, at least {KEY_BITS} are required",
                private_key.size() * 8
            )));
        }
        Self::from_private_key(&private_key)
    }

    fn from_private_key(private_key: &RsaPrivateKey) -> Result<SigningKeys, TokenError> {
        let private_der = private_key
            .to_pkcs1_der()
            .map_err(|err| key_error("encoding the private key", err))?;
        let public_key = private_key.to_public_key();
        let public_der = public_key
            .to_pkcs1_der()
            .map_err(|err| key_error("encoding the public key", err))?;
        let spki_der = public_key
            .to_public_key_der()
            .map_err(|err| key_error("encoding the public key", err))?;
        let public_key_pem = public_key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|err| key_error("encoding the public key", err))?;
        Ok(SigningKeys {
            // jsonwebtoken's RustCrypto backend takes RSA keys as PKCS#1 DER.
            encoding: EncodingKey::from_rsa_der(private_der.as_bytes()),
            decoding: DecodingKey::from_rsa_der(public_der.as_bytes()),
            kid: libtrust_key_id(spki_der.as_bytes()),
            public_key_pem,
        })
    }

    /// Generates a key, publishes it at `path` unless someone else did first, and returns
    /// whichever key is at `path` afterwards.
    fn generate_into(path: &Path) -> Result<SigningKeys, TokenError> {
        let file_name = path
            .file_name()
            .ok_or_else(|| TokenError::Key(format!("{} is not a file path", path.display())))?;
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir)
            .map_err(|err| key_error(format_args!("cannot create {}", dir.display()), err))?;

        tracing::info!(path = %path.display(), "generating the registry signing key (RSA {KEY_BITS})");
        let private_key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
            .map_err(|err| key_error("generating an RSA key", err))?;
        let pem = private_key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|err| key_error("encoding the private key", err))?;

        let temp = TempKeyFile(dir.join(format!(
            ".{}.{}-{}.tmp",
            file_name.to_string_lossy(),
            std::process::id(),
            random_hex(8)
        )));
        write_private_file(&temp.0, pem.as_bytes())
            .map_err(|err| key_error(format_args!("cannot write {}", temp.0.display()), err))?;

        // A hard link never replaces an existing file, so of two racing processes exactly one
        // publishes its key and the other loads it. Filesystems without hard links get a rename.
        let published = match fs::hard_link(&temp.0, path) {
            Ok(()) => true,
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => false,
            Err(_) if path.exists() => false,
            Err(_) => {
                fs::rename(&temp.0, path).map_err(|err| {
                    key_error(
                        format_args!("cannot move the new key to {}", path.display()),
                        err,
                    )
                })?;
                true
            }
        };
        drop(temp);
        if !published {
            tracing::info!(path = %path.display(), "another process created the signing key first; using it");
            let pem = fs::read_to_string(path)
                .map_err(|err| key_error(format_args!("cannot read {}", path.display()), err))?;
            return Self::from_pem(&pem).map_err(|err| key_error(path.display(), err));
        }
        // Make the new directory entry durable; failing here loses nothing we could report.
        if let Ok(dir_handle) = File::open(&dir) {
            let _ = dir_handle.sync_all();
        }
        Self::from_private_key(&private_key)
    }

    /// The libtrust key id (`ABCD:EFGH:…`, 12 groups of 4) written into every token's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), for configuring
    /// another registry to trust our tokens.
    pub fn public_key_pem(&self) -> String {
        self.public_key_pem.clone()
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding_key(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// Writes `contents` to a new file readable by the owner only, flushed to disk.
fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// A temporary key file, removed when dropped (after it was linked into place, or on failure).
struct TempKeyFile(PathBuf);

impl Drop for TempKeyFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = fs::metadata(path)
            && metadata.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", metadata.permissions().mode() & 0o777),
                "the registry signing key is accessible to other users; chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// docker/libtrust's key id: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32
/// (RFC 4648 alphabet, no padding: 48 characters), in 12 groups of 4 joined by `:`.
fn libtrust_key_id(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let encoded = base32_encode(&digest[..30]);
    let groups: Vec<&str> = encoded
        .as_bytes()
        .chunks(4)
        .map(|group| std::str::from_utf8(group).unwrap_or_default())
        .collect();
    groups.join(":")
}

/// RFC 4648 base32 with the standard alphabet and no padding.
fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut encoded = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let mut buffer: u32 = 0;
    let mut bits: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            encoded.push(char::from(ALPHABET[((buffer >> bits) & 0x1f) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        encoded.push(char::from(
            ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize],
        ));
    }
    encoded
}

fn random_hex(len_bytes: usize) -> String {
    let mut bytes = vec![0u8; len_bytes];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The signing key, loaded once in the background at start-up so that the server need not wait
/// for key generation; the first caller that needs it waits for (or does) the load.
pub struct KeyCell {
    path: PathBuf,
    state: Mutex<LoadState>,
    loaded: Condvar,
}

enum LoadState {
    NotStarted,
    Loading,
    /// The outcome, kept for every later caller (errors as text: they are reported, not handled).
    Done(Result<Arc<SigningKeys>, String>),
}

impl fmt::Debug for KeyCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCell")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl KeyCell {
    /// A cell for the key file at `path`; nothing is read until [`start_background`] or [`get`].
    ///
    /// [`start_background`]: KeyCell::start_background
    /// [`get`]: KeyCell::get
    pub fn new(path: impl Into<PathBuf>) -> Arc<KeyCell> {
        Arc::new(KeyCell {
            path: path.into(),
            state: Mutex::new(LoadState::NotStarted),
            loaded: Condvar::new(),
        })
    }

    /// A cell that already holds `keys` (tests, or keys obtained elsewhere).
    pub fn preloaded(keys: SigningKeys) -> Arc<KeyCell> {
        Arc::new(KeyCell {
            path: PathBuf::new(),
            state: Mutex::new(LoadState::Done(Ok(Arc::new(keys)))),
            loaded: Condvar::new(),
        })
    }

    /// The key file this cell loads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts loading (or generating) the key on a background thread, unless a load already
    /// started or finished.
    pub fn start_background(self: &Arc<Self>) {
        if !self.claim_load() {
            return;
        }
        let cell = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("registry-signing-key".into())
            .spawn(move || cell.run_claimed_load());
        if let Err(err) = spawned {
            tracing::warn!(error = %err, "cannot start the signing-key thread; loading on first use");
            *self.lock_state() = LoadState::NotStarted;
            self.loaded.notify_all();
        }
    }

    /// The signing keys, waiting for a background load in progress, or loading them now when
    /// nobody has started. A failed load is reported to every caller.
    pub fn get(&self) -> Result<Arc<SigningKeys>, TokenError> {
        let mut state = self.lock_state();
        loop {
            match &*state {
                LoadState::Done(Ok(keys)) => return Ok(Arc::clone(keys)),
                LoadState::Done(Err(message)) => return Err(TokenError::Key(message.clone())),
                LoadState::Loading => {
                    state = self
                        .loaded
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                LoadState::NotStarted => {
                    *state = LoadState::Loading;
                    drop(state);
                    self.run_claimed_load();
                    state = self.lock_state();
                }
            }
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, LoadState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves `NotStarted` to `Loading`; true if this caller now owns the load.
    fn claim_load(&self) -> bool {
        let mut state = self.lock_state();
        if matches!(*state, LoadState::NotStarted) {
            *state = LoadState::Loading;
            true
        } else {
            false
        }
    }

    /// Performs the load this caller claimed and publishes the outcome, even if loading panics
    /// (waiters must never hang).
    fn run_claimed_load(&self) {
        struct Publish<'a> {
            cell: &'a KeyCell,
            outcome: Option<Result<Arc<SigningKeys>, String>>,
        }
        impl Drop for Publish<'_> {
            fn drop(&mut self) {
                let outcome = self
                    .outcome
                    .take()
                    .unwrap_or_else(|| Err("loading the signing key panicked".to_owned()));
                *self.cell.lock_state() = LoadState::Done(outcome);
                self.cell.loaded.notify_all();
            }
        }
        let mut publish = Publish {
            cell: self,
            outcome: None,
        };
        let outcome = SigningKeys::load_or_generate(&self.path).map(Arc::new).map_err(|err| {
            tracing::error!(path = %self.path.display(), error = %err, "registry signing key unavailable");
            match err {
                TokenError::Key(message) | TokenError::Invalid(message) => message,
            }
        });
        if let Ok(keys) = &outcome {
            tracing::debug!(kid = keys.kid(), "registry signing key ready");
        }
        publish.outcome = Some(outcome);
    }
}

/// One entry of a token's `access` claim: a resource and the actions granted on it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Access {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Access {
    fn holds(&self, action: &str) -> bool {
        self.actions
            .iter()
            .any(|held| held == action || held == "*")
    }
}

/// The claims of a registry JWT.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Claims {
    pub iss: String,
    /// The username; empty for an anonymous token.
    pub sub: String,
    /// The service the token is for (`container_registry`).
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    /// A random 128-bit id, hex.
    pub jti: String,
    pub access: Vec<Access>,
    /// The user behind the token, so that writes can re-check that the user is still active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    /// The personal access token behind the JWT, re-checked (revoked? expired?) on writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<i64>,
    /// The CI job behind the JWT (a job token), re-checked (still running?) on writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<i64>,
}

impl Claims {
    /// True if an access entry for this resource type and name holds `action` or `*`.
    pub fn allows(&self, kind: &str, name: &str, action: &str) -> bool {
        self.access
            .iter()
            .any(|entry| entry.kind == kind && entry.name == name && entry.holds(action))
    }
}

/// The JSON body of a successful token response.
#[derive(Serialize, Clone, Debug)]
pub struct IssuedToken {
    pub token: String,
    /// The same JWT again (OAuth2-style clients read this field).
    pub access_token: String,
    /// Seconds until `exp`; never below 60.
    pub expires_in: i64,
    /// RFC 3339, UTC, e.g. `2009-11-10T23:00:00Z`.
    pub issued_at: String,
}

/// Issues and verifies registry tokens for one issuer and service.
#[derive(Clone, Debug)]
pub struct TokenIssuer {
    keys: Arc<KeyCell>,
    /// The `iss` written and required.
    pub issuer: String,
    /// The `aud` written and required (the `service` of token requests).
    pub service: String,
    /// Token lifetime in seconds; values below 60 are raised to 60.
    pub lifetime_secs: i64,
}

impl TokenIssuer {
    pub fn new(keys: Arc<KeyCell>, issuer: impl Into<String>, service: impl Into<String>) -> Self {
        TokenIssuer {
            keys,
            issuer: issuer.into(),
            service: service.into(),
            lifetime_secs: DEFAULT_LIFETIME_SECS,
        }
    }

    pub fn keys(&self) -> &Arc<KeyCell> {
        &self.keys
    }

    /// Signs a token for `subject` ("" for anonymous) granting `access`.
    pub fn issue(
        &self,
        subject: &str,
        user_id: Option<i64>,
        token_id: Option<i64>,
        access: Vec<Access>,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_for_job(subject, user_id, token_id, None, access)
    }

    /// Signs a token as [`TokenIssuer::issue`] does, naming the CI job whose token asked for it.
    pub fn issue_for_job(
        &self,
        subject: &str,
        user_id: Option<i64>,
        token_id: Option<i64>,
        job_id: Option<i64>,
        access: Vec<Access>,
    ) -> Result<IssuedToken, TokenError> {
        let keys = self.keys.get()?;
        let now = Utc::now();
        let issued_at = now.timestamp();
        let lifetime = self.lifetime_secs.max(MIN_LIFETIME_SECS);
        let claims = Claims {
            iss: self.issuer.clone(),
            sub: subject.to_owned(),
            aud: self.service.clone(),
            exp: issued_at.saturating_add(lifetime),
            nbf: issued_at - NOT_BEFORE_SKEW_SECS,
            iat: issued_at,
            jti: random_hex(16),
            access,
            user_id,
            token_id,
            job_id,
        };
        let jwt = sign(&keys, &claims)?;
        Ok(IssuedToken {
            token: jwt.clone(),
            access_token: jwt,
            expires_in: lifetime,
            issued_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        })
    }

    /// Checks a bearer token: RS256 signature by our key, `exp`/`nbf` (5 s leeway), `aud` ==
    /// service and `iss` == issuer. Any failure is [`TokenError::Invalid`] with the reason.
    pub fn verify(&self, jwt: &str) -> Result<Claims, TokenError> {
        let keys = self.keys.get()?;
        let header = jsonwebtoken::decode_header(jwt).map_err(invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        if let Some(kid) = &header.kid
            && kid != keys.kid()
        {
            return Err(TokenError::Invalid("signed by an unknown key".to_owned()));
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = VERIFY_LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        validation.set_audience(&[&self.service]);
        validation.set_issuer(&[&self.issuer]);
        jsonwebtoken::decode::<Claims>(jwt, &keys.decoding, &validation)
            .map(|data| data.claims)
            .map_err(invalid)
    }
}

fn sign(keys: &SigningKeys, claims: &Claims) -> Result<String, TokenError> {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(keys.kid.clone());
    jsonwebtoken::encode(&header, claims, &keys.encoding)
        .map_err(|err| key_error("signing a token", err))
}

fn invalid(err: jsonwebtoken::errors::Error) -> TokenError {
    let reason = match err.kind() {
        ErrorKind::ExpiredSignature => "token expired".to_owned(),
        ErrorKind::ImmatureSignature => "token not valid yet".to_owned(),
        ErrorKind::InvalidAudience => "token is for another service".to_owned(),
        ErrorKind::InvalidIssuer => "token from another issuer".to_owned(),
        ErrorKind::InvalidSignature => "bad signature".to_owned(),
        ErrorKind::InvalidAlgorithm => "algorithm is not accepted".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("claim {claim:?} missing"),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            "malformed token".to_owned()
        }
        ErrorKind::Json(err) => format!("malformed token: {err}"),
        _ => err.to_string(),
    };
    TokenError::Invalid(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The one generated key of this test module, with what generation left on disk.
    struct Generated {
        keys: Arc<SigningKeys>,
        pem: String,
        mode: u32,
        leftovers: Vec<String>,
    }

    fn generated() -> &'static Generated {
        static GENERATED: OnceLock<Generated> = OnceLock::new();
        GENERATED.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("keys/nested/registry.pem");
            let keys = SigningKeys::load_or_generate(&path).unwrap();
            let pem = fs::read_to_string(&path).unwrap();
            let mode = {
                use std::os::unix::fs::PermissionsExt;
                fs::metadata(&path).unwrap().permissions().mode() & 0o777
            };
            let leftovers = fs::read_dir(path.parent().unwrap())
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name != "registry.pem")
                .collect();
            Generated {
                keys: Arc::new(keys),
                pem,
                mode,
                leftovers,
            }
        })
    }

    /// A second, unrelated key (the other key generation of this module).
    fn other_keys() -> &'static SigningKeys {
        static OTHER: OnceLock<SigningKeys> = OnceLock::new();
        OTHER.get_or_init(|| {
            let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS).unwrap();
            SigningKeys::from_private_key(&key).unwrap()
        })
    }

    fn reloaded() -> SigningKeys {
        SigningKeys::from_pem(&generated().pem).unwrap()
    }

    fn issuer_with(keys: SigningKeys) -> TokenIssuer {
        TokenIssuer::new(KeyCell::preloaded(keys), "tinforge", "container_registry")
    }

    fn issuer() -> TokenIssuer {
        issuer_with(reloaded())
    }

    fn pull_push(name: &str) -> Vec<Access> {
        vec![Access {
            kind: "repository".into(),
            name: name.into(),
            actions: vec!["pull".into(), "push".into()],
        }]
    }

    fn claims_now(issuer: &TokenIssuer) -> Claims {
        let now = Utc::now().timestamp();
        Claims {
            iss: issuer.issuer.clone(),
            sub: "alice".into(),
            aud: issuer.service.clone(),
            exp: now + 300,
            nbf: now - 5,
            iat: now,
            jti: random_hex(16),
            access: pull_push("acme/app"),
            user_id: None,
            token_id: None,
            job_id: None,
        }
    }

    fn assert_invalid(result: Result<Claims, TokenError>, reason_part: &str) {
        match result {
            Err(TokenError::Invalid(reason)) => {
                assert!(
                    reason.contains(reason_part),
                    "reason {reason:?} lacks {reason_part:?}"
                )
            }
            other => panic!("expected Invalid({reason_part}), got {other:?}"),
        }
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        for (input, output) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(input.as_bytes()), output, "{input}");
        }
    }

    #[test]
    fn kid_is_libtrust_shaped() {
        let kid = generated().keys.kid();
        let groups: Vec<&str> = kid.split(':').collect();
        assert_eq!(groups.len(), 12, "{kid}");
        for group in groups {
            assert_eq!(group.len(), 4, "{kid}");
            assert!(
                group
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
            );
        }
        assert_ne!(kid, other_keys().kid());
    }

    #[test]
    fn generated_key_file_is_private_pkcs8_and_alone() {
        let generated = generated();
        assert_eq!(generated.mode, 0o600);
        assert!(generated.pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(generated.leftovers.is_empty(), "{:?}", generated.leftovers);
    }

    #[test]
    fn reload_from_the_same_file_keeps_kid_and_verifies_earlier_tokens() {
        let before = TokenIssuer::new(
            KeyCell::preloaded(SigningKeys::from_pem(&generated().pem).unwrap()),
            "tinforge",
            "container_registry",
        );
        let issued = before
            .issue("alice", Some(7), Some(42), pull_push("acme/app"))
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.pem");
        fs::write(&path, &generated().pem).unwrap();
        let reloaded = SigningKeys::load_or_generate(&path).unwrap();
        assert_eq!(reloaded.kid(), generated().keys.kid());
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            generated().pem,
            "file rewritten"
        );
        assert_eq!(reloaded.public_key_pem(), generated().keys.public_key_pem());

        let claims = issuer_with(reloaded).verify(&issued.token).unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.user_id, Some(7));
        assert_eq!(claims.token_id, Some(42));
        assert_eq!(claims.access, pull_push("acme/app"));
    }

    #[test]
    fn public_key_pem_is_spki() {
        let pem = generated().keys.public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        assert!(DecodingKey::from_rsa_pem(pem.as_bytes()).is_ok());
    }

    #[test]
    fn pkcs1_pem_is_accepted_and_garbage_is_not() {
        let key = RsaPrivateKey::from_pkcs8_pem(&generated().pem).unwrap();
        let pkcs1 = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert_eq!(
            SigningKeys::from_pem(&pkcs1).unwrap().kid(),
            generated().keys.kid()
        );
        assert!(matches!(
            SigningKeys::from_pem("not a key"),
            Err(TokenError::Key(_))
        ));
    }

    #[test]
    fn issued_token_has_the_response_shape_and_claims() {
        let issuer = issuer();
        let issued = issuer.issue("", None, None, vec![]).unwrap();
        assert_eq!(issued.token, issued.access_token);
        assert_eq!(issued.expires_in, DEFAULT_LIFETIME_SECS);
        assert!(issued.issued_at.ends_with('Z'), "{}", issued.issued_at);
        assert!(chrono::DateTime::parse_from_rfc3339(&issued.issued_at).is_ok());
        let body = serde_json::to_value(&issued).unwrap();
        let mut fields: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(fields, ["access_token", "expires_in", "issued_at", "token"]);

        let header = jsonwebtoken::decode_header(&issued.token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(generated().keys.kid()));
        assert_eq!(header.typ.as_deref(), Some("JWT"));

        let claims = issuer.verify(&issued.token).unwrap();
        assert_eq!(claims.sub, "");
        assert_eq!(claims.aud, "container_registry");
        assert_eq!(claims.iss, "tinforge");
        assert_eq!(claims.exp - claims.iat, DEFAULT_LIFETIME_SECS);
        assert_eq!(claims.iat - claims.nbf, NOT_BEFORE_SKEW_SECS);
        assert_eq!(claims.jti.len(), 32);
        assert!(claims.access.is_empty());

        // Absent ids are left out of the JWT entirely.
        let payload = issued.token.split('.').nth(1).unwrap();
        let json =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(json.get("user_id").is_none() && json.get("token_id").is_none());
        assert_eq!(json["access"], serde_json::json!([]));
    }

    #[test]
    fn short_lifetimes_are_raised_to_sixty_seconds() {
        let mut issuer = issuer();
        issuer.lifetime_secs = 10;
        let issued = issuer.issue("alice", None, None, vec![]).unwrap();
        assert_eq!(issued.expires_in, MIN_LIFETIME_SECS);
        let claims = issuer.verify(&issued.token).unwrap();
        assert_eq!(claims.exp - claims.iat, MIN_LIFETIME_SECS);
    }

    #[test]
    fn jti_is_unique() {
        let issuer = issuer();
        let first = issuer
            .verify(&issuer.issue("a", None, None, vec![]).unwrap().token)
            .unwrap();
        let second = issuer
            .verify(&issuer.issue("a", None, None, vec![]).unwrap().token)
            .unwrap();
        assert_ne!(first.jti, second.jti);
    }

    #[test]
    fn token_from_another_key_is_rejected() {
        let foreign = SigningKeys::from_pem(
            &other_keys().public_key_pem(), // not a private key: must fail cleanly
        );
        assert!(foreign.is_err());

        let ours = issuer();
        let claims = claims_now(&ours);
        // With the other key's kid: refused before the signature is even checked.
        let with_their_kid = sign(other_keys(), &claims).unwrap();
        assert_invalid(ours.verify(&with_their_kid), "unknown key");
        // With our kid but their signature.
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(generated().keys.kid().to_owned());
        let forged = jsonwebtoken::encode(&header, &claims, other_keys().encoding_key()).unwrap();
        assert_invalid(ours.verify(&forged), "signature");
    }

    #[test]
    fn tampered_token_is_rejected() {
        let issuer = issuer();
        let token = issuer
            .issue("alice", None, None, pull_push("acme/app"))
            .unwrap()
            .token;
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut claims = claims_now(&issuer);
        claims.access = pull_push("acme/secret");
        parts[1] = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims).unwrap(),
        );
        assert_invalid(issuer.verify(&parts.join(".")), "signature");
    }

    #[test]
    fn expired_and_future_tokens_are_rejected() {
        let issuer = issuer();
        let keys = issuer.keys().get().unwrap();
        let mut expired = claims_now(&issuer);
        expired.iat -= 400;
        expired.nbf -= 400;
        expired.exp = Utc::now().timestamp() - 30;
        assert_invalid(issuer.verify(&sign(&keys, &expired).unwrap()), "expired");

        let mut future = claims_now(&issuer);
        future.nbf = Utc::now().timestamp() + 120;
        assert_invalid(
            issuer.verify(&sign(&keys, &future).unwrap()),
            "not valid yet",
        );

        // Inside the leeway still passes.
        let mut just_expired = claims_now(&issuer);
        just_expired.exp = Utc::now().timestamp() - 1;
        assert!(issuer.verify(&sign(&keys, &just_expired).unwrap()).is_ok());
    }

    #[test]
    fn wrong_audience_or_issuer_is_rejected() {
        let issuer = issuer();
        let token = issuer.issue("alice", None, None, vec![]).unwrap().token;

        let mut other_service = issuer.clone();
        other_service.service = "dependency_proxy".into();
        assert_invalid(other_service.verify(&token), "another service");

        let mut other_issuer = issuer.clone();
        other_issuer.issuer = "someone-else".into();
        assert_invalid(other_issuer.verify(&token), "another issuer");
    }

    #[test]
    fn other_algorithms_and_garbage_are_rejected() {
        let issuer = issuer();
        let claims = claims_now(&issuer);
        // HS256 "signed" with the public key: the classic algorithm-confusion attack.
        let public_pem = generated().keys.public_key_pem();
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(public_pem.as_bytes()),
        )
        .unwrap();
        assert_invalid(issuer.verify(&hs256), "not accepted");

        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&claims).unwrap(),
        );
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(
            issuer.verify(&unsigned),
            Err(TokenError::Invalid(_))
        ));

        for garbage in ["", "abc", "a.b.c", "....", "eyJ.eyJ.eyJ"] {
            assert!(
                matches!(issuer.verify(garbage), Err(TokenError::Invalid(_))),
                "{garbage}"
            );
        }
    }

    #[test]
    fn allows_checks_type_name_and_action() {
        let claims = Claims {
            access: vec![
                Access {
                    kind: "repository".into(),
                    name: "acme/app".into(),
                    actions: vec!["pull".into()],
                },
                Access {
                    kind: "repository".into(),
                    name: "acme/admin".into(),
                    actions: vec!["*".into()],
                },
                Access {
                    kind: "registry".into(),
                    name: "catalog".into(),
                    actions: vec!["*".into()],
                },
            ],
            ..claims_now(&issuer())
        };
        assert!(claims.allows("repository", "acme/app", "pull"));
        assert!(!claims.allows("repository", "acme/app", "push"));
        assert!(!claims.allows("repository", "acme/app2", "pull"));
        assert!(!claims.allows("registry", "acme/app", "pull"));
        assert!(claims.allows("repository", "acme/admin", "delete"));
        assert!(claims.allows("repository", "acme/admin", "push"));
        assert!(claims.allows("registry", "catalog", "*"));
        assert!(!claims.allows("repository", "acme/app", "*"));
    }

    #[test]
    fn key_cell_loads_in_background_and_shares_the_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.pem");
        fs::write(&path, &generated().pem).unwrap();
        let cell = KeyCell::new(&path);
        cell.start_background();
        cell.start_background(); // a second start is a no-op
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let cell = Arc::clone(&cell);
                thread::spawn(move || cell.get().map(|keys| keys.kid().to_owned()))
            })
            .collect();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap().unwrap(), generated().keys.kid());
        }
        assert!(Arc::ptr_eq(&cell.get().unwrap(), &cell.get().unwrap()));
    }

    #[test]
    fn key_cell_loads_on_first_use_and_keeps_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.pem");
        fs::write(&path, &generated().pem).unwrap();
        let cell = KeyCell::new(&path);
        assert_eq!(cell.get().unwrap().kid(), generated().keys.kid());

        let broken_path = dir.path().join("broken.pem");
        fs::write(
            &broken_path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let broken = KeyCell::new(&broken_path);
        broken.start_background();
        let first = broken.get().unwrap_err();
        let second = broken.get().unwrap_err();
        assert!(matches!(&first, TokenError::Key(message) if message.contains("broken.pem")));
        assert_eq!(first, second);

        let issuer = TokenIssuer::new(broken, "tinforge", "container_registry");
        assert!(matches!(
            issuer.issue("a", None, None, vec![]),
            Err(TokenError::Key(_))
        ));
        assert!(matches!(issuer.verify("a.b.c"), Err(TokenError::Key(_))));
    }

    #[test]
    fn unusable_key_path_is_a_key_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "x").unwrap();
        // The parent "directory" is a regular file: fails before any key is generated.
        let result = SigningKeys::load_or_generate(&blocker.join("registry.pem"));
        assert!(matches!(result, Err(TokenError::Key(_))), "{result:?}");
    }
}
