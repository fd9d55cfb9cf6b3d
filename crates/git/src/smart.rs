//! Git smart HTTP: `info/refs` advertisements, `git-upload-pack` (clone, fetch; protocol v0 and
//! v2) and `git-receive-pack` (push), served by the installed `git` with `--stateless-rpc` after
//! tinforge has authorized the request. Bodies stream both ways: the (gunzipped) request body is
//! piped into git's stdin and git's stdout into the response as they flow, so a push or clone of
//! any size holds only small buffers in memory.

use crate::error::GitError;
use crate::hook;
use crate::pkt::{self, PktError};
use crate::protected::{self, Rule};
use crate::push::{self, CommandError, RefEndpoints};
use crate::{GitConfig, endpoints};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};
use tinforge_authz::{Principal, Target};
use tinforge_ci::queue::JobQueue;
use tinforge_ci::service::push_pipelines::{PipelineTrigger, PushedRef};
use tinforge_gate::authorized::{
    RequestCredentials, enforce, record_caller, resolve_target, run_blocking, state_of,
};
use tinforge_gate::mounts::{Mount, Serves};
use tinforge_gate::{Endpoint, GateState, TargetSpec, credential};
use tinforge_store::{projects, protected_branches};
use tokio::io::{AsyncBufRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio_util::io::{ReaderStream, StreamReader};

/// Size of the buffers between the client, git and the response.
const CHUNK: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    UploadPack,
    ReceivePack,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::UploadPack => "git-upload-pack",
            Service::ReceivePack => "git-receive-pack",
        }
    }

    fn subcommand(self) -> &'static str {
        match self {
            Service::UploadPack => "upload-pack",
            Service::ReceivePack => "receive-pack",
        }
    }

    fn parse(name: &str) -> Option<Service> {
        match name {
            "git-upload-pack" => Some(Service::UploadPack),
            "git-receive-pack" => Some(Service::ReceivePack),
            _ => None,
        }
    }
}

/// Mounts the smart HTTP routes (`namespace` may be nested: `group/sub/project.git`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let [refs, upload, receive] = MOUNTS;
    cfg.service(web::resource(refs.pattern).route(web::get().to(info_refs)))
        .service(web::resource(upload.pattern).route(web::post().to(upload_pack)))
        .service(web::resource(receive.pattern).route(web::post().to(receive_pack)));
}

/// What [`configure`] mounts, for the router's start-up self-check.
pub const MOUNTS: [Mount; 3] = [
    git_mount("/{project_path:.+}.git/info/refs"),
    git_mount("/{project_path:.+}.git/git-upload-pack"),
    git_mount("/{project_path:.+}.git/git-receive-pack"),
];

const fn git_mount(pattern: &'static str) -> Mount {
    Mount {
        pattern,
        serves: Serves::Surface(tinforge_gate::Surface::Git),
    }
}

/// An authorized request on an existing repository.
struct Access {
    principal: Option<Principal>,
    target: Target,
    repo: PathBuf,
    endpoint: Endpoint,
    state: web::Data<GateState>,
    config: web::Data<GitConfig>,
    has_credential: bool,
}

/// The project path from the URL, checked: no empty, `.` or `..` segments, no control characters.
fn project_path(req: &HttpRequest) -> Result<String, GitError> {
    let raw = req.match_info().get("project_path").unwrap_or_default();
    let path = tinforge_gate::authorized::decode(raw);
    let bad = path.is_empty()
        || path.len() > 1024
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == ".." || s.ends_with(".git"))
        || path.chars().any(|c| c.is_control() || c == '\\');
    if bad {
        return Err(GitError::BadRequest(format!(
            "Invalid repository path {:?}",
            path.chars().take(200).collect::<String>()
        )));
    }
    Ok(path)
}

/// Resolves the credential and the project, then asks `enforce()` with the declared endpoint.
/// Without a credential every refusal is a 401 (git then asks for one); with one, a project the
/// caller cannot read is a 404 identical to a missing one.
async fn access(
    req: &HttpRequest,
    service: Service,
    key: (&str, &str),
) -> Result<Access, GitError> {
    let path = project_path(req)?;
    let state = state_of(req).map_err(|e| GitError::from_gate(e, false))?;
    let config = req
        .app_data::<web::Data<GitConfig>>()
        .cloned()
        .ok_or_else(|| GitError::Internal("the git surface is not configured".into()))?;
    let endpoint = state
        .registry
        .lookup(key.0, key.1)
        .cloned()
        .ok_or_else(|| {
            GitError::Internal(format!("undeclared git endpoint {} {}", key.0, key.1))
        })?;
    let has_credential = credential::is_present(req);
    let credentials = RequestCredentials::of(req).map_err(|e| GitError::from_gate(e, false))?;
    let resolver = state.resolver.clone();
    let (principal, target, default_branch) =
        run_blocking(&state.store, move |conn| -> Result<_, GitError> {
            let principal = credentials
                .resolve(conn, &resolver)
                .map_err(|e| GitError::from_gate(e, false))?;
            let user_id = principal.as_ref().map(|p| p.user_id);
            // Project paths always have a namespace; a bare segment is never a project.
            let target = if path.contains('/') {
                resolve_target(conn, TargetSpec::Project("project_path"), &path, user_id)
                    .map_err(|e| GitError::from_gate(e, false))?
            } else {
                None
            };
            let default_branch = match &target {
                Some(t) => projects::find(conn, t.id)?.map(|p| p.default_branch),
                None => None,
            };
            Ok((principal, target, default_branch))
        })
        .await?;
    record_caller(req, principal.as_ref());
    let anonymous = principal.is_none();
    let Some(target) = target else {
        return Err(if anonymous {
            GitError::Unauthorized(None)
        } else {
            GitError::NotFound
        });
    };
    enforce(principal.as_ref(), &endpoint, Some(&target))
        .map_err(|e| GitError::from_gate(e, anonymous))?;
    if service == Service::ReceivePack && anonymous {
        // Pushing always needs a credential: ask for one before the client sends its pack.
        return Err(GitError::Unauthorized(None));
    }
    let repos = config.repos.clone();
    let id = target.id;
    let branch = default_branch.unwrap_or_else(|| "main".into());
    let repo = web::block(move || repos.ensure(id, &branch))
        .await
        .map_err(|e| GitError::Unavailable(e.to_string()))?
        .map_err(|e| GitError::Internal(format!("repository {id}: {e}")))?;
    Ok(Access {
        principal,
        target,
        repo,
        endpoint,
        state,
        config,
        has_credential,
    })
}

/// `Git-Protocol` as git sends it (`version=2`, `version=2:object-format=sha1`), or None when it
/// carries anything else.
fn git_protocol(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("git-protocol")?.to_str().ok()?.trim();
    let ok = !value.is_empty()
        && value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=:._-,".contains(&b));
    ok.then(|| value.to_string())
}

fn wants_v2(protocol: Option<&str>) -> bool {
    protocol.is_some_and(|p| p.split(':').any(|part| part == "version=2"))
}

fn ok_response(access: &Access, content_type: String) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "no-cache, max-age=0, must-revalidate"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("Expires", "Fri, 01 Jan 1980 00:00:00 GMT"));
    if access.has_credential {
        res.insert_header((
            "X-Accepted-Permissions",
            access.endpoint.requirement.permission_list(),
        ));
    }
    res
}

/// `git <service> --stateless-rpc`; [`spawn`] adds the repository as the last argument.
fn git_command(service: Service) -> Command {
    let mut cmd = Command::from(tinforge_store::git::repos::git());
    cmd.arg(service.subcommand())
        .arg("--stateless-rpc")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn spawn(mut cmd: Command, repo: &std::path::Path, stdin: bool) -> Result<Child, GitError> {
    cmd.arg(repo);
    cmd.stdin(if stdin { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd
        .spawn()
        .map_err(|e| GitError::Internal(format!("cannot run git: {e}")))?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(log_stderr(stderr));
    }
    Ok(child)
}

async fn log_stderr(stderr: tokio::process::ChildStderr) {
    let mut text = Vec::new();
    let _ = stderr.take(16 * 1024).read_to_end(&mut text).await;
    let text = String::from_utf8_lossy(&text);
    if !text.trim().is_empty() {
        tracing::warn!(stderr = %text.trim(), "git said");
    }
}

/// `GET …/info/refs?service=git-upload-pack|git-receive-pack`.
pub async fn info_refs(req: HttpRequest) -> Result<HttpResponse, GitError> {
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let service = match query.iter().find(|(k, _)| k == "service") {
        None => {
            return Err(GitError::Forbidden(
                "The dumb HTTP protocol is not supported; use a git client with smart HTTP".into(),
            ));
        }
        Some((_, name)) => Service::parse(name)
            .ok_or_else(|| GitError::Forbidden(format!("Unsupported service {name:?}")))?,
    };
    let key = match service {
        Service::UploadPack => endpoints::UPLOAD_REFS,
        Service::ReceivePack => endpoints::RECEIVE_REFS,
    };
    let access = access(&req, service, key).await?;
    let protocol = git_protocol(&req).filter(|_| service == Service::UploadPack);
    let v2 = wants_v2(protocol.as_deref());
    let mut cmd = git_command(service);
    cmd.arg("--http-backend-info-refs").kill_on_drop(true);
    if let Some(p) = &protocol {
        cmd.env("GIT_PROTOCOL", p);
    }
    let child = spawn(cmd, &access.repo, false)?;
    // v0 starts with `# service=…` and a flush; git http-backend omits it for v2.
    let prefix = (!v2).then(|| {
        let mut p = pkt::encode(format!("# service={}\n", service.name()).as_bytes());
        p.extend_from_slice(pkt::FLUSH);
        Bytes::from(p)
    });
    let body = ChildBody::new(child, prefix, true)?;
    Ok(ok_response(
        &access,
        format!("application/x-{}-advertisement", service.name()),
    )
    .streaming(body))
}

fn check_content_type(req: &HttpRequest, service: Service) -> Result<(), GitError> {
    let expected = format!("application/x-{}-request", service.name());
    let given = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if given.split(';').next().unwrap_or_default().trim() == expected {
        Ok(())
    } else {
        Err(GitError::UnsupportedMediaType(format!(
            "Content-Type must be {expected}"
        )))
    }
}

type Body = Pin<Box<dyn AsyncBufRead>>;

/// The request body as a stream of bytes, gunzipped on the fly when the client compressed it.
fn body_reader(req: &HttpRequest, payload: web::Payload) -> Result<Body, GitError> {
    let encoding = req
        .headers()
        .get(CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    let stream = payload.map(|chunk| chunk.map_err(io::Error::other));
    let reader = StreamReader::new(stream);
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(Box::pin(reader)),
        Some("gzip") | Some("x-gzip") => Ok(Box::pin(BufReader::with_capacity(
            CHUNK,
            GzipDecoder::new(reader),
        ))),
        Some(other) => Err(GitError::UnsupportedMediaType(format!(
            "Unsupported Content-Encoding {other:?}"
        ))),
    }
}

fn body_error(e: &io::Error) -> GitError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        GitError::BadRequest("The request body is empty or truncated".into())
    } else {
        GitError::BadRequest(format!("The request body could not be read: {e}"))
    }
}

/// `POST …/git-upload-pack`: one fetch round (v0) or command (v2).
pub async fn upload_pack(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, GitError> {
    let access = access(&req, Service::UploadPack, endpoints::UPLOAD_RPC).await?;
    check_content_type(&req, Service::UploadPack)?;
    let mut body = body_reader(&req, payload)?;
    // A request that does not even start with a pkt-line is refused before git runs.
    let mut head = [0u8; 4];
    body.read_exact(&mut head)
        .await
        .map_err(|e| body_error(&e))?;
    pkt::parse_len(&head).map_err(|e| GitError::BadRequest(e.to_string()))?;
    let mut cmd = git_command(Service::UploadPack);
    cmd.kill_on_drop(true);
    if let Some(p) = git_protocol(&req) {
        cmd.env("GIT_PROTOCOL", p);
    }
    let mut child = spawn(cmd, &access.repo, true)?;
    let stdin = child.stdin.take().expect("piped stdin");
    feed(body, head.to_vec(), stdin);
    let out = ChildBody::new(child, None, true)?;
    Ok(ok_response(&access, "application/x-git-upload-pack-result".into()).streaming(out))
}

/// `POST …/git-receive-pack`: the command list is read and every ref update judged before git
/// runs; a push with any refused ref is answered here and never reaches git.
pub async fn receive_pack(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, GitError> {
    let access = access(&req, Service::ReceivePack, endpoints::RECEIVE_RPC).await?;
    check_content_type(&req, Service::ReceivePack)?;
    let mut body = body_reader(&req, payload)?;
    let commands = push::read_commands(&mut body).await.map_err(|e| match e {
        CommandError::Pkt(PktError::Io(e)) => body_error(&e),
        other => GitError::BadRequest(other.to_string()),
    })?;
    let rules: Vec<Rule> = if commands.updates.iter().any(|u| u.branch().is_some()) {
        let id = access.target.id;
        run_blocking(&access.state.store, move |c| {
            protected_branches::list(c, id).map_err(GitError::from)
        })
        .await?
        .iter()
        .map(Rule::from)
        .collect()
    } else {
        Vec::new()
    };
    let registry = &access.state.registry;
    let lookup = |key: (&str, &str)| {
        registry
            .lookup(key.0, key.1)
            .ok_or_else(|| GitError::Internal(format!("undeclared git endpoint {}", key.1)))
    };
    let ref_endpoints = RefEndpoints {
        create: lookup(endpoints::PUSH_CREATE)?,
        update: lookup(endpoints::PUSH_UPDATE)?,
        delete: lookup(endpoints::PUSH_DELETE)?,
    };
    let verdicts: Vec<Result<(), String>> = commands
        .updates
        .iter()
        .map(|u| {
            push::judge(
                access.principal.as_ref(),
                &access.target,
                &ref_endpoints,
                &rules,
                u,
            )
        })
        .collect();
    if verdicts.iter().any(Result::is_err) {
        tracing::info!(
            target: "audit",
            user_id = access.principal.as_ref().map(|p| p.user_id),
            project = %access.target.full_path,
            refused = verdicts.iter().filter(|v| v.is_err()).count(),
            "push refused"
        );
        drain(body).await;
        if !commands.has("report-status") && !commands.has("report-status-v2") {
            let reasons: Vec<String> = verdicts.into_iter().filter_map(Result::err).collect();
            return Err(GitError::Forbidden(reasons.join("\n")));
        }
        let report = push::refused_report(&commands, &verdicts);
        return Ok(
            ok_response(&access, "application/x-git-receive-pack-result".into()).body(report),
        );
    }
    let mut cmd = git_command(Service::ReceivePack);
    let touches_protected = commands.updates.iter().any(|u| {
        u.branch()
            .is_some_and(|b| protected::protection(&rules, b).is_some())
    });
    if touches_protected {
        // Only the rules of the branches pushed: the environment has a size limit.
        let relevant: Vec<Rule> = rules
            .iter()
            .filter(|r| {
                commands
                    .updates
                    .iter()
                    .filter_map(|u| u.branch())
                    .any(|b| tinforge_store::protected_branches::matches(&r.name, b))
            })
            .cloned()
            .collect();
        cmd.env(hook::BIN_ENV, &access.config.hook_bin)
            .env(hook::RULES_ENV, protected::encode_rules(&relevant));
    } else {
        cmd.env_remove(hook::BIN_ENV);
    }
    // A push runs to its end even when the client goes away: git must not die between ref updates.
    cmd.kill_on_drop(false);
    let mut child = spawn(cmd, &access.repo, true)?;
    let stdin = child.stdin.take().expect("piped stdin");
    feed(body, commands.raw, stdin);
    let mut out = ChildBody::new(child, None, false)?;
    if let Some(trigger) = PipelineTrigger::for_pusher(
        access.state.store.clone(),
        access.config.repos.clone(),
        req.app_data::<web::Data<JobQueue>>()
            .map(|q| q.clone().into_inner()),
        access.principal.as_ref(),
        access.target.id,
    ) {
        let updates = commands.updates.clone();
        let repo = access.repo.clone();
        out.on_success = Some(Box::new(move || {
            trigger.spawn(applied_updates(&repo, updates));
        }));
    }
    Ok(ok_response(&access, "application/x-git-receive-pack-result".into()).streaming(out))
}

/// The updates git actually applied (a ref git refused, say by the pre-receive hook, still
/// points elsewhere): those whose ref now holds the pushed commit.
fn applied_updates(repo: &std::path::Path, updates: Vec<push::RefUpdate>) -> Vec<PushedRef> {
    let Ok(repo) = git2::Repository::open_bare(repo) else {
        return Vec::new();
    };
    updates
        .into_iter()
        .filter(|u| {
            repo.refname_to_id(&u.name)
                .is_ok_and(|id| id.to_string() == u.new)
        })
        .map(|u| PushedRef {
            old: u.old,
            new: u.new,
            name: u.name,
        })
        .collect()
}

/// Pipes `prefix` and then the rest of the request body into git's stdin, on this worker (the
/// request payload is not `Send`). When git stops reading early, the body is still drained so
/// the client can read the answer.
fn feed(mut body: Body, prefix: Vec<u8>, mut stdin: ChildStdin) {
    actix_web::rt::spawn(async move {
        let result: io::Result<u64> = async {
            stdin.write_all(&prefix).await?;
            let n = tokio::io::copy_buf(&mut body, &mut stdin).await?;
            stdin.shutdown().await?;
            Ok(n)
        }
        .await;
        drop(stdin);
        if let Err(e) = result {
            tracing::debug!(error = %e, "request body not fully delivered to git");
            drain(body).await;
        }
    });
}

async fn drain(mut body: Body) {
    let _ = tokio::io::copy_buf(&mut body, &mut tokio::io::sink()).await;
}

/// git's stdout as the response body, after an optional prefix. When the body ends or is dropped
/// the child is reaped (and, for reads, killed if the client went away).
struct ChildBody {
    /// Run once git has exited successfully (a push is then applied).
    on_success: Option<Box<dyn FnOnce() + Send>>,
    prefix: Option<Bytes>,
    stdout: ReaderStream<tokio::process::ChildStdout>,
    child: Option<Child>,
    kill_on_abort: bool,
}

impl ChildBody {
    fn new(mut child: Child, prefix: Option<Bytes>, kill_on_abort: bool) -> Result<Self, GitError> {
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| GitError::Internal("git stdout not piped".into()))?;
        Ok(ChildBody {
            on_success: None,
            prefix,
            stdout: ReaderStream::with_capacity(stdout, CHUNK),
            child: Some(child),
            kill_on_abort,
        })
    }

    fn reap(&mut self, aborted: bool) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if aborted && self.kill_on_abort {
            let _ = child.start_kill();
        }
        let on_success = self.on_success.take();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                match child.wait().await {
                    Ok(status) if status.success() => {
                        if let Some(f) = on_success {
                            f();
                        }
                    }
                    Ok(status) if !status.success() && !aborted => {
                        tracing::warn!(%status, "git exited with an error")
                    }
                    Err(e) => tracing::warn!(error = %e, "waiting for git failed"),
                    _ => {}
                }
            });
        }
    }
}

impl Stream for ChildBody {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(p) = self.prefix.take() {
            return Poll::Ready(Some(Ok(p)));
        }
        match self.stdout.poll_next_unpin(cx) {
            Poll::Ready(None) => {
                self.reap(false);
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl Drop for ChildBody {
    fn drop(&mut self) {
        self.reap(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_v2_is_recognized_and_odd_headers_are_dropped() {
        assert!(wants_v2(Some("version=2")));
        assert!(wants_v2(Some("object-format=sha1:version=2")));
        assert!(!wants_v2(Some("version=1")));
        assert!(!wants_v2(None));
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Git-Protocol", "version=2; rm -rf"))
            .to_http_request();
        assert_eq!(git_protocol(&req), None);
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Git-Protocol", "version=2"))
            .to_http_request();
        assert_eq!(git_protocol(&req).as_deref(), Some("version=2"));
    }
}
