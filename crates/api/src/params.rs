//! Request parameters as GitLab takes them: query string, JSON body or form body, merged into one
//! object (`k[]=a&k[]=b` becomes an array), then deserialized with errors naming the field.
//! Credentials in the query are never part of the parameters.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The largest body the REST API reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

const NOT_PARAMETERS: [&str; 2] = ["private_token", "access_token"];

/// Merged request parameters. A malformed body is kept as its error and reported when the handler
/// first reads the parameters, so authorization (401/403/404) always answers before body syntax.
#[derive(Debug)]
pub struct Params(Result<Map<String, Value>, String>);

impl Params {
    /// Parameters given directly (the CLI and tests of handlers).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Params(Ok(map))
    }

    /// The merged parameters, or the 400 for a malformed body.
    pub fn map(&self) -> Result<&Map<String, Value>, ApiError> {
        self.0.as_ref().map_err(|e| ApiError::BadRequest(e.clone()))
    }

    /// Deserializes into `T`; a missing or mistyped field is a 400 naming it.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_path_to_error::deserialize(Value::Object(self.map()?.clone())).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            if let Some(missing) = inner.strip_prefix("missing field `") {
                ApiError::BadRequest(format!("{} is missing", missing.trim_end_matches('`')))
            } else if field == "." {
                ApiError::BadRequest(inner)
            } else {
                ApiError::BadRequest(format!("{field} is invalid"))
            }
        })
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.as_ref().ok().and_then(|m| m.get(key))
    }
}

impl Params {
    /// Reads a request's parameters with a body of up to `limit` bytes (413 beyond), for the
    /// few routes whose bodies carry whole files; every other route extracts [`Params`] with
    /// [`BODY_LIMIT`].
    pub async fn read(
        req: &HttpRequest,
        mut payload: Payload,
        limit: usize,
    ) -> Result<Params, ApiError> {
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|_| ApiError::BadRequest("request body could not be read".into()))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = req.content_type().to_ascii_lowercase();
        Ok(Params(merge(req.query_string(), &content_type, &body)))
    }
}

impl FromRequest for Params {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { Params::read(&req, payload, BODY_LIMIT).await })
    }
}

/// Query string first, then the body (JSON object or form), credentials removed.
fn merge(query: &str, content_type: &str, body: &[u8]) -> Result<Map<String, Value>, String> {
    let mut params = Map::new();
    merge_pairs(&mut params, query)?;
    if body.iter().any(|b| !b.is_ascii_whitespace()) {
        if content_type.contains("x-www-form-urlencoded") {
            merge_pairs(&mut params, &String::from_utf8_lossy(body))?;
        } else {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => params.extend(map),
                Ok(_) => return Err("the request body must be a JSON object".into()),
                Err(e) => return Err(format!("malformed JSON body: {e}")),
            }
        }
    }
    for key in NOT_PARAMETERS {
        params.remove(key);
    }
    Ok(params)
}

fn merge_pairs(params: &mut Map<String, Value>, encoded: &str) -> Result<(), String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(encoded).map_err(|_| "malformed query string".to_string())?;
    for (key, value) in pairs {
        if let Some(name) = key.strip_suffix("[]") {
            let entry = params
                .entry(name.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entry {
                list.push(Value::String(value));
            }
        } else {
            params.insert(key, Value::String(value));
        }
    }
    Ok(())
}

/// A parameter as text: a string, or a number or boolean written out; None when absent (or
/// another kind of value).
pub fn text(p: &Map<String, Value>, key: &str) -> Option<String> {
    match p.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}

/// A parameter that must be given and not empty: 400 `{key} is missing` otherwise.
pub fn required(p: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    text(p, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::BadRequest(format!("{key} is missing")))
}

/// A boolean switch: `true`/`1` (as JSON or text) turn it on, anything else leaves it off.
pub fn flag(p: &Map<String, Value>, key: &str) -> bool {
    matches!(text(p, key).as_deref(), Some("true" | "1"))
}

/// A list of names: a JSON array (or `k[]=` pairs) whose items may themselves be
/// comma-separated, or one comma-separated string; None when absent.
pub fn names(p: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from)
            .collect()
    };
    match p.get(key)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .flat_map(split)
                .collect(),
        ),
        Value::String(s) => Some(split(s)),
        _ => None,
    }
}

/// Lenient deserializers for values that arrive as strings from query strings and forms.
pub mod flex {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    /// `true`/`false`/`True`/`False`/`1`/`0`, as JSON or as strings; `null` is absent.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::Number(n)) if n.as_i64() == Some(1) => Ok(Some(true)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) => Ok(Some(false)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(D::Error::custom("not a boolean")),
            },
            Some(_) => Err(D::Error::custom("not a boolean")),
        }
    }

    /// An integer, as JSON or as a string; `null` is absent.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom("not an integer")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| D::Error::custom("not an integer")),
            Some(_) => Err(D::Error::custom("not an integer")),
        }
    }

    /// A list given as a JSON array, `k[]=` pairs, or one comma-separated string; `null` is absent.
    pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        let text = |v: Value| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(D::Error::custom("not a list of strings")),
        };
        match Option::<Value>::deserialize(d)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(text)
                .collect::<Result<_, _>>()
                .map(Some),
            Some(Value::String(s)) => Ok(Some(
                s.split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
            )),
            Some(_) => Err(D::Error::custom("not a list")),
        }
    }
}
