//! Registry access scopes: parsing the `scope` parameters of a token request
//! (`repository:acme/app:pull,push`, `registry:catalog:*`) and building the
//! `WWW-Authenticate: Bearer …` challenge that tells a client which scopes to ask for.
//!
//! Scope grammar (Docker token spec): `type:name:action[,action…]`. One token request may carry
//! several scopes, as repeated `scope=` parameters and/or space-separated inside one value; both
//! forms are accepted and merged per resource. Unknown resource types and unknown actions are
//! dropped (the token service grants nothing for them); a malformed scope or an invalid repository
//! name is an error, which the token endpoint answers with 400.

use std::collections::HashMap;
use std::fmt;

use percent_encoding::percent_decode_str;

/// The longest repository name we accept, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// The actions a scope may request; anything else is dropped.
pub const KNOWN_ACTIONS: [&str; 4] = ["pull", "push", "delete", "*"];

/// The resource type of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// `repository` (also `repository(plugin)` and similar type suffixes): one image repository.
    Repository,
    /// `registry`: registry-wide resources, in practice only `registry:catalog:*`.
    Registry,
}

impl ScopeKind {
    /// The type as written in scopes and in a JWT's `access[].type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Repository => "repository",
            ScopeKind::Registry => "registry",
        }
    }

    /// Parses a scope type; `None` for types we do not serve.
    fn parse(raw: &str) -> Option<ScopeKind> {
        match raw {
            "repository" => Some(ScopeKind::Repository),
            "registry" => Some(ScopeKind::Registry),
            // Old clients send e.g. `repository(plugin)`; the class suffix changes nothing for us.
            _ if raw.starts_with("repository(") && raw.ends_with(')') => {
                Some(ScopeKind::Repository)
            }
            _ => None,
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requested (or granted) resource with its actions, e.g. `repository:acme/app:pull,push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub kind: ScopeKind,
    pub name: String,
    pub actions: Vec<String>,
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.name, self.actions.join(","))
    }
}

/// A scope that cannot be served; the message names the offending scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("malformed scope {0:?}: expected type:name:actions")]
    Malformed(String),
    #[error("invalid repository name {name:?} in scope {scope:?}: {reason}")]
    InvalidName {
        scope: String,
        name: String,
        reason: &'static str,
    },
}

/// Collects every `scope` parameter of a raw query string (or an
/// `application/x-www-form-urlencoded` body), splits each value on spaces and parses the scopes.
///
/// Actions are filtered to [`KNOWN_ACTIONS`], deduplicated and kept in request order; scopes for
/// the same resource are merged. A scope left without any known action, or of an unknown type, is
/// dropped. No scope at all (a `docker login`) gives an empty list.
pub fn parse_scopes(query: &str) -> Result<Vec<ResourceScope>, ScopeError> {
    let mut scopes: Vec<ResourceScope> = Vec::new();
    let mut index: HashMap<(ScopeKind, String), usize> = HashMap::new();
    for (key, value) in query_pairs(query) {
        if key != "scope" {
            continue;
        }
        for item in value.split_whitespace() {
            let Some(parsed) = parse_one(item)? else {
                continue;
            };
            match index.get(&(parsed.kind, parsed.name.clone())) {
                Some(&at) => {
                    let merged = &mut scopes[at].actions;
                    for action in parsed.actions {
                        if !merged.contains(&action) {
                            merged.push(action);
                        }
                    }
                }
                None => {
                    index.insert((parsed.kind, parsed.name.clone()), scopes.len());
                    scopes.push(parsed);
                }
            }
        }
    }
    Ok(scopes)
}

/// Parses one `type:name:actions` item; `Ok(None)` when it asks for nothing we serve.
fn parse_one(item: &str) -> Result<Option<ResourceScope>, ScopeError> {
    // The name sits between the first and the last colon, so a (rejected below, but reported
    // correctly) `host:port/name` stays in one piece.
    let malformed = || ScopeError::Malformed(item.to_owned());
    let (raw_kind, rest) = item.split_once(':').ok_or_else(malformed)?;
    let (name, raw_actions) = rest.rsplit_once(':').ok_or_else(malformed)?;
    if raw_kind.is_empty() || name.is_empty() {
        return Err(malformed());
    }
    let Some(kind) = ScopeKind::parse(raw_kind) else {
        tracing::debug!(scope = item, "ignoring scope of unknown type");
        return Ok(None);
    };
    validate_name(name).map_err(|reason| ScopeError::InvalidName {
        scope: item.to_owned(),
        name: name.to_owned(),
        reason,
    })?;
    let mut actions: Vec<String> = Vec::new();
    for action in raw_actions.split(',').map(str::trim) {
        if KNOWN_ACTIONS.contains(&action) && !actions.iter().any(|known| known == action) {
            actions.push(action.to_owned());
        }
    }
    if actions.is_empty() {
        tracing::debug!(scope = item, "ignoring scope without a known action");
        return Ok(None);
    }
    Ok(Some(ResourceScope {
        kind,
        name: name.to_owned(),
        actions,
    }))
}

/// Checks a repository name against the OCI grammar (the store's rule); the error says why.
pub fn validate_name(name: &str) -> Result<(), &'static str> {
    if name.len() > MAX_NAME_LEN {
        return Err("longer than 255 characters");
    }
    if !tinforge_store::registry::names::is_valid_name(name) {
        return Err(
            "expected lower-case alphanumeric path components separated by '/', \
             joined inside by '.', '_', '__' or dashes",
        );
    }
    Ok(())
}

/// The first value of the query parameter `name`, URL-decoded (`service`, `account`, …).
/// A parameter given without `=` has the empty value.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query_pairs(query)
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

/// Decoded `(key, value)` pairs of a query string or form body, in order, duplicates kept.
fn query_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query
        .strip_prefix('?')
        .unwrap_or(query)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(key), form_decode(value))
        })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, then percent-decoding.
/// Invalid UTF-8 becomes U+FFFD, which no valid scope or name contains.
fn form_decode(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// The `WWW-Authenticate` value for a 401 from the registry:
/// `Bearer realm="…",service="…"[,scope="a b"][,error="…"]`.
///
/// All scopes go space-joined into one `scope` value, as distribution writes it. Values are
/// quoted with `"` and `\` escaped; control characters are dropped so that nothing a client sent
/// can break the header.
pub fn challenge(
    realm: &str,
    service: &str,
    scopes: &[ResourceScope],
    error: Option<&str>,
) -> String {
    let mut header = format!("Bearer realm={},service={}", quote(realm), quote(service));
    if !scopes.is_empty() {
        let joined = scopes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" ");
        header.push_str(",scope=");
        header.push_str(&quote(&joined));
    }
    if let Some(error) = error {
        header.push_str(",error=");
        header.push_str(&quote(error));
    }
    header
}

/// An HTTP quoted-string: `"` and `\` escaped with a backslash, control characters dropped.
fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            c if c.is_control() => {}
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, actions: &[&str]) -> ResourceScope {
        ResourceScope {
            kind: ScopeKind::Repository,
            name: name.to_owned(),
            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
        }
    }

    #[test]
    fn single_scope_with_other_parameters() {
        let query = "account=alice&service=container_registry&scope=repository%3Aacme%2Fapp%3Apull%2Cpush&client_id=docker";
        assert_eq!(
            parse_scopes(query).unwrap(),
            vec![repo("acme/app", &["pull", "push"])]
        );
    }

    #[test]
    fn repeated_and_space_separated_scopes() {
        let query = "scope=repository:acme/app:pull&scope=repository:acme/base:pull+repository:acme/tools:pull,push%20registry:catalog:*";
        let scopes = parse_scopes(query).unwrap();
        assert_eq!(
            scopes,
            vec![
                repo("acme/app", &["pull"]),
                repo("acme/base", &["pull"]),
                repo("acme/tools", &["pull", "push"]),
                ResourceScope {
                    kind: ScopeKind::Registry,
                    name: "catalog".into(),
                    actions: vec!["*".into()]
                },
            ]
        );
    }

    #[test]
    fn duplicates_are_merged_in_request_order() {
        let query = "scope=repository:acme/app:push&scope=repository:acme/app:pull,push,pull&scope=repository:acme/app:delete";
        assert_eq!(
            parse_scopes(query).unwrap(),
            vec![repo("acme/app", &["push", "pull", "delete"])]
        );
    }

    #[test]
    fn unknown_actions_and_types_are_dropped() {
        let query = "scope=repository:acme/app:pull,frobnicate,,PUSH&scope=repository:acme/other:frobnicate&scope=plugin:foo:pull";
        assert_eq!(
            parse_scopes(query).unwrap(),
            vec![repo("acme/app", &["pull"])]
        );
    }

    #[test]
    fn type_suffix_counts_as_repository() {
        let scopes = parse_scopes("scope=repository(plugin):acme/app:pull").unwrap();
        assert_eq!(scopes, vec![repo("acme/app", &["pull"])]);
    }

    #[test]
    fn catalog_scope() {
        let scopes = parse_scopes("service=container_registry&scope=registry:catalog:*").unwrap();
        assert_eq!(scopes.len(), 1);
        assert_eq!(scopes[0].kind, ScopeKind::Registry);
        assert_eq!(scopes[0].to_string(), "registry:catalog:*");
    }

    #[test]
    fn no_scope_is_a_login() {
        assert_eq!(parse_scopes("").unwrap(), vec![]);
        assert_eq!(
            parse_scopes("service=container_registry&account=bob").unwrap(),
            vec![]
        );
        assert_eq!(parse_scopes("scope=&service=x").unwrap(), vec![]);
        assert_eq!(parse_scopes("scope=+++").unwrap(), vec![]);
    }

    #[test]
    fn bad_names_are_rejected() {
        for bad in [
            "repository:Acme/App:pull",
            "repository:acme//app:pull",
            "repository:/acme:pull",
            "repository:acme/app/:pull",
            "repository:acme..app:pull",
            "repository:-acme:pull",
            "repository:localhost:5000/acme/app:pull",
            "repository:ac%3Fme:pull",
        ] {
            let query = format!("scope={bad}");
            match parse_scopes(&query) {
                Err(ScopeError::InvalidName { .. }) => {}
                other => panic!("{bad}: expected an invalid name, got {other:?}"),
            }
        }
        let long = format!("scope=repository:{}:pull", "a".repeat(256));
        assert!(parse_scopes(&long).is_err());
        let just_fits = format!("scope=repository:{}:pull", "a".repeat(255));
        assert!(parse_scopes(&just_fits).is_ok());
    }

    #[test]
    fn good_names_are_accepted() {
        for good in [
            "a",
            "acme/app",
            "a.b_c__d---e/f0/9",
            "group/sub-group/my.app",
        ] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn malformed_scopes_are_rejected_with_the_scope_in_the_message() {
        for bad in [
            "repository",
            "repository:acme",
            ":acme:pull",
            "repository::pull",
        ] {
            let err = parse_scopes(&format!("scope={bad}")).unwrap_err();
            assert_eq!(err, ScopeError::Malformed(bad.to_owned()));
            assert!(err.to_string().contains(bad));
        }
        let err = parse_scopes("scope=repository:Bad:pull").unwrap_err();
        assert!(err.to_string().contains("repository:Bad:pull"), "{err}");
    }

    #[test]
    fn query_param_decodes_first_value() {
        let query = "?service=container%5Fregistry&account=a+b&service=other&flag";
        assert_eq!(
            query_param(query, "service").as_deref(),
            Some("container_registry")
        );
        assert_eq!(query_param(query, "account").as_deref(), Some("a b"));
        assert_eq!(query_param(query, "flag").as_deref(), Some(""));
        assert_eq!(query_param(query, "missing"), None);
        assert_eq!(
            query_param("bad=%ZZ%ff", "bad").as_deref(),
            Some("%ZZ\u{fffd}")
        );
    }

    #[test]
    fn challenge_without_and_with_scopes() {
        assert_eq!(
            challenge("http://host/jwt/auth", "container_registry", &[], None),
            r#"Bearer realm="http://host/jwt/auth",service="container_registry""#
        );
        let scopes = [
            repo("acme/app", &["pull", "push"]),
            ResourceScope {
                kind: ScopeKind::Registry,
                name: "catalog".into(),
                actions: vec!["*".into()],
            },
        ];
        assert_eq!(
            challenge(
                "http://host/jwt/auth",
                "container_registry",
                &scopes,
                Some("insufficient_scope")
            ),
            r#"Bearer realm="http://host/jwt/auth",service="container_registry",scope="repository:acme/app:pull,push registry:catalog:*",error="insufficient_scope""#
        );
    }

    #[test]
    fn challenge_escapes_quotes_backslashes_and_controls() {
        assert_eq!(
            challenge(
                "http://h/\"x\\y",
                "svc\r\nInjected: 1",
                &[],
                Some("invalid_token")
            ),
            r#"Bearer realm="http://h/\"x\\y",service="svcInjected: 1",error="invalid_token""#
        );
    }

    #[test]
    fn parsed_scopes_round_trip_through_display() {
        let text = "repository:acme/app:pull,push";
        let scopes = parse_scopes(&format!("scope={text}")).unwrap();
        assert_eq!(scopes[0].to_string(), text);
    }
}
