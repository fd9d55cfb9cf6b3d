//! What a `/v2/…` path asks for. Image names span slashes (`acme/app/tools/builder`), so the
//! path is read from its end: the last `/manifests/`, `/blobs/uploads/`, `/blobs/`,
//! `/referrers/` or `/tags/list` splits it into the name and the rest.

/// One `/v2/` route with its path parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Base,
    Catalog,
    Tags {
        name: String,
    },
    Manifest {
        name: String,
        reference: String,
    },
    Blob {
        name: String,
        digest: String,
    },
    /// `…/blobs/uploads/` (start an upload).
    Uploads {
        name: String,
    },
    /// `…/blobs/uploads/<session>`.
    Upload {
        name: String,
        session: String,
    },
    Referrers {
        name: String,
        digest: String,
    },
}

impl Route {
    /// The image name the route acts on.
    pub fn name(&self) -> Option<&str> {
        match self {
            Route::Base | Route::Catalog => None,
            Route::Tags { name }
            | Route::Manifest { name, .. }
            | Route::Blob { name, .. }
            | Route::Uploads { name }
            | Route::Upload { name, .. }
            | Route::Referrers { name, .. } => Some(name),
        }
    }
}

/// Parses the path of a request (`/v2/acme/app/manifests/latest`); None when it is no route.
pub fn parse(path: &str) -> Option<Route> {
    let tail = path.strip_prefix("/v2")?;
    if tail.is_empty() || tail == "/" {
        return Some(Route::Base);
    }
    let tail = tail.strip_prefix('/')?;
    if tail == "_catalog" {
        return Some(Route::Catalog);
    }
    let single = |s: &str| !s.is_empty() && !s.contains('/');
    if let Some(name) = tail.strip_suffix("/tags/list") {
        return Some(Route::Tags { name: name.into() });
    }
    if let Some(name) = tail
        .strip_suffix("/blobs/uploads/")
        .or_else(|| tail.strip_suffix("/blobs/uploads"))
    {
        return Some(Route::Uploads { name: name.into() });
    }
    if let Some((name, session)) = tail.rsplit_once("/blobs/uploads/")
        && single(session)
    {
        return Some(Route::Upload {
            name: name.into(),
            session: session.into(),
        });
    }
    let split = |marker: &str| {
        tail.rsplit_once(marker)
            .filter(|(n, rest)| !n.is_empty() && single(rest))
            .map(|(n, rest)| (n.to_string(), rest.to_string()))
    };
    if let Some((name, reference)) = split("/manifests/") {
        return Some(Route::Manifest { name, reference });
    }
    if let Some((name, digest)) = split("/blobs/") {
        return Some(Route::Blob { name, digest });
    }
    if let Some((name, digest)) = split("/referrers/") {
        return Some(Route::Referrers { name, digest });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_from_their_end() {
        assert_eq!(parse("/v2/"), Some(Route::Base));
        assert_eq!(parse("/v2"), Some(Route::Base));
        assert_eq!(parse("/v2/_catalog"), Some(Route::Catalog));
        assert_eq!(
            parse("/v2/a/b/tools/tags/list"),
            Some(Route::Tags {
                name: "a/b/tools".into()
            })
        );
        assert_eq!(
            parse("/v2/a/b/manifests/v1"),
            Some(Route::Manifest {
                name: "a/b".into(),
                reference: "v1".into()
            })
        );
        assert_eq!(
            parse("/v2/a/manifests/b/manifests/sha256:x"),
            Some(Route::Manifest {
                name: "a/manifests/b".into(),
                reference: "sha256:x".into()
            })
        );
        assert_eq!(
            parse("/v2/a/b/blobs/uploads/"),
            Some(Route::Uploads { name: "a/b".into() })
        );
        assert_eq!(
            parse("/v2/a/b/blobs/uploads/1234"),
            Some(Route::Upload {
                name: "a/b".into(),
                session: "1234".into()
            })
        );
        assert_eq!(
            parse("/v2/a/b/blobs/sha256:abc"),
            Some(Route::Blob {
                name: "a/b".into(),
                digest: "sha256:abc".into()
            })
        );
        assert_eq!(
            parse("/v2/a/b/referrers/sha256:abc"),
            Some(Route::Referrers {
                name: "a/b".into(),
                digest: "sha256:abc".into()
            })
        );
        assert_eq!(parse("/v2/a/b"), None);
        assert_eq!(parse("/v2/a/b/manifests/"), None);
        assert_eq!(parse("/v3/a/b/tags/list"), None);
    }
}
