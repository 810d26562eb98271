//! Broker routes: `/<name>/...` on the proxy goes to the route's upstream, with the run's
//! placeholder swapped for the real credential on the way.

use std::fmt;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};
use url::Url;

use crate::error::EgressError;

/// A credential value. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One (placeholder, real value) pair: the sandbox holds the placeholder, the upstream gets
/// the real value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// What the sandbox sends; random per run, worthless anywhere but this run's socket.
    pub placeholder: String,
    /// What the upstream receives.
    pub secret: Secret,
}

/// Where credentials travel in a request to a model API, besides a route's own headers.
pub(crate) const CREDENTIAL_HEADERS: &[&str] =
    &["x-api-key", "authorization", "x-goog-api-key", "api-key"];
/// The query parameter Gemini accepts a key in.
const CREDENTIAL_QUERY: &str = "key";

/// A broker route.
#[derive(Debug, Clone)]
pub struct Route {
    /// First path segment(s) on the proxy: `anthropic`, `openai`, `gemini`, `github-copilot`,
    /// `mcp/<name>`.
    pub(crate) name: String,
    /// Base URL requests are forwarded to; the rest of the path is appended.
    pub(crate) upstream: Url,
    pub(crate) credentials: Vec<Credential>,
    /// Headers besides [`CREDENTIAL_HEADERS`] that carry a credential.
    pub(crate) extra_headers: Vec<HeaderName>,
}

impl Route {
    /// A route without credentials. `upstream` must be an `http` or `https` URL without a query.
    pub fn new(name: &str, upstream: &str) -> Result<Self, EgressError> {
        let bad = |reason: String| EgressError::InvalidRoute { name: name.to_string(), reason };
        let valid_name = !name.is_empty()
            && name.split('/').all(|seg| {
                !seg.is_empty()
                    && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid_name {
            return Err(bad(
                "names are `/`-separated segments of letters, digits, '-' and '_'".into()
            ));
        }
        let url = Url::parse(upstream).map_err(|e| bad(format!("upstream {upstream:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad(format!("upstream {upstream:?} is not an http(s) URL with a host")));
        }
        if url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(bad(format!(
                "upstream {upstream:?} must have no query, fragment or user info"
            )));
        }
        Ok(Self {
            name: name.to_string(),
            upstream: url,
            credentials: Vec::new(),
            extra_headers: Vec::new(),
        })
    }

    /// Adds a credential: the placeholder is swapped for `secret` wherever a credential travels.
    pub fn with_credential(mut self, placeholder: impl Into<String>, secret: Secret) -> Self {
        self.credentials.push(Credential { placeholder: placeholder.into(), secret });
        self
    }

    /// Declares another header that carries a credential (an MCP connector's own).
    pub fn with_header(mut self, name: &str) -> Result<Self, EgressError> {
        let header = HeaderName::try_from(name).map_err(|e| EgressError::InvalidRoute {
            name: self.name.clone(),
            reason: format!("header {name:?}: {e}"),
        })?;
        if !self.extra_headers.contains(&header) {
            self.extra_headers.push(header);
        }
        Ok(self)
    }

    /// The route's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The upstream base URL.
    pub fn upstream(&self) -> &Url {
        &self.upstream
    }

    /// The rest of `path` after this route's prefix (`""` or starting with `/`), if it is one.
    pub(crate) fn strip<'a>(&self, path: &'a str) -> Option<&'a str> {
        let rest = path.strip_prefix('/')?.strip_prefix(self.name.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// The upstream URL for `rest` (after the prefix) and the request's query.
    pub(crate) fn target(&self, rest: &str, query: Option<&str>) -> Result<Url, String> {
        let base = self.upstream.as_str();
        let joined = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{}{rest}", base.trim_end_matches('/'))
        };
        let mut url = Url::parse(&joined).map_err(|e| format!("bad path: {e}"))?;
        url.set_query(query);
        // Dot segments are resolved by the parser; the request still goes to the same origin.
        let same_origin = url.scheme() == self.upstream.scheme()
            && url.host() == self.upstream.host()
            && url.port_or_known_default() == self.upstream.port_or_known_default();
        if same_origin {
            Ok(url)
        } else {
            Err("the path leaves the route's upstream".into())
        }
    }

    /// Swaps this run's placeholders for the real values in the request's credential headers
    /// and `key` query parameter, and returns the new query. Refused (`Err`, answered 401)
    /// when a credential location holds something else, or when the route has credentials and
    /// the request carries none.
    pub(crate) fn swap_credentials(
        &self,
        headers: &mut HeaderMap,
        query: Option<&str>,
    ) -> Result<Option<String>, &'static str> {
        const FOREIGN: &str = "the request's credential is not this run's placeholder";
        let mut swapped = false;
        let names = CREDENTIAL_HEADERS
            .iter()
            .map(|n| HeaderName::from_static(n))
            .chain(self.extra_headers.iter().cloned());
        for name in names {
            let values: Vec<HeaderValue> = headers.get_all(&name).iter().cloned().collect();
            if values.is_empty() {
                continue;
            }
            if self.credentials.is_empty() {
                continue;
            }
            headers.remove(&name);
            for value in values {
                let text = value.to_str().map_err(|_| FOREIGN)?;
                let replaced = self.replace(text, name == AUTHORIZATION).ok_or(FOREIGN)?;
                let value = HeaderValue::from_str(&replaced).map_err(|_| FOREIGN)?;
                headers.append(&name, value);
                swapped = true;
            }
        }
        let query = match query {
            // Rebuilt only when it carries a key, so other parameters keep their encoding.
            Some(q)
                if !self.credentials.is_empty()
                    && url::form_urlencoded::parse(q.as_bytes())
                        .any(|(k, _)| k == CREDENTIAL_QUERY) =>
            {
                let mut out = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                    if k == CREDENTIAL_QUERY {
                        out.append_pair(&k, &self.replace(&v, false).ok_or(FOREIGN)?);
                        swapped = true;
                    } else {
                        out.append_pair(&k, &v);
                    }
                }
                Some(out.finish())
            }
            other => other.map(str::to_string),
        };
        if self.credentials.is_empty() || swapped {
            Ok(query)
        } else {
            Err("the request carries no credential")
        }
    }

    /// `text` with every placeholder replaced, or `None` when it holds none. For
    /// `Authorization`, only the credentials part (after the scheme) must be a placeholder.
    fn replace(&self, text: &str, authorization: bool) -> Option<String> {
        let (scheme, token) = match text.split_once(' ') {
            Some((scheme, token)) if authorization => (Some(scheme), token.trim()),
            _ => (None, text.trim()),
        };
        let credential = self.credentials.iter().find(|c| c.placeholder == token);
        let swapped = match credential {
            Some(c) => c.secret.expose().to_string(),
            // A configured header may hold the placeholder inside a longer value.
            None if !authorization
                && self.credentials.iter().any(|c| token.contains(&c.placeholder)) =>
            {
                self.credentials.iter().fold(token.to_string(), |acc, c| {
                    acc.replace(&c.placeholder, c.secret.expose())
                })
            }
            None => return None,
        };
        Some(match scheme {
            Some(scheme) => format!("{scheme} {swapped}"),
            None => swapped,
        })
    }

    /// The secrets of this route, longest first, for scrubbing responses.
    pub(crate) fn secrets(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut pairs: Vec<_> = self
            .credentials
            .iter()
            .map(|c| (c.secret.expose().as_bytes().to_vec(), c.placeholder.as_bytes().to_vec()))
            .collect();
        pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> Route {
        Route::new("anthropic", "https://api.anthropic.com")
            .unwrap()
            .with_credential("sk-ant-drydock-p1", Secret::new("sk-ant-REAL"))
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::try_from(*k).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn placeholder_is_swapped_in_every_credential_location() {
        let r = route();
        for (name, sent, expected) in [
            ("x-api-key", "sk-ant-drydock-p1", "sk-ant-REAL"),
            ("authorization", "Bearer sk-ant-drydock-p1", "Bearer sk-ant-REAL"),
            ("x-goog-api-key", "sk-ant-drydock-p1", "sk-ant-REAL"),
            ("api-key", "sk-ant-drydock-p1", "sk-ant-REAL"),
        ] {
            let mut h = headers(&[(name, sent), ("x-other", "sk-ant-drydock-p1")]);
            r.swap_credentials(&mut h, None).unwrap();
            assert_eq!(h[name], expected, "{name}");
            // Only credential locations are touched.
            assert_eq!(h["x-other"], "sk-ant-drydock-p1");
        }
        let mut h = HeaderMap::new();
        let query = r.swap_credentials(&mut h, Some("alt=sse&key=sk-ant-drydock-p1")).unwrap();
        assert_eq!(query.as_deref(), Some("alt=sse&key=sk-ant-REAL"));
    }

    #[test]
    fn anything_but_the_placeholder_is_refused() {
        let r = route();
        for sent in [
            &[("x-api-key", "sk-ant-someone-elses")][..],
            &[("authorization", "Bearer sk-ant-drydock-p2")],
            &[("x-api-key", "sk-ant-drydock-p1"), ("authorization", "Bearer stolen")],
            &[],
        ] {
            let mut h = headers(sent);
            assert!(r.swap_credentials(&mut h, None).is_err(), "{sent:?}");
        }
        let mut h = headers(&[("x-api-key", "sk-ant-drydock-p1")]);
        assert!(r.swap_credentials(&mut h, Some("key=other")).is_err());
    }

    #[test]
    fn connector_headers_are_swapped_inside_longer_values() {
        let r = Route::new("mcp/docs", "https://mcp.example/v1/mcp")
            .unwrap()
            .with_credential("ph-a", Secret::new("Token real-a"))
            .with_header("X-Docs-Token")
            .unwrap();
        let mut h = headers(&[("x-docs-token", "ph-a")]);
        r.swap_credentials(&mut h, None).unwrap();
        assert_eq!(h["x-docs-token"], "Token real-a");
        let open = Route::new("mcp/open", "https://mcp.example/").unwrap();
        let mut h = headers(&[("authorization", "Bearer whatever")]);
        assert!(
            open.swap_credentials(&mut h, None).is_ok(),
            "a route without credentials passes through"
        );
        assert_eq!(h["authorization"], "Bearer whatever");
    }

    #[test]
    fn targets_stay_on_the_upstream() {
        let r = Route::new("openai", "https://gw.example/v1").unwrap();
        assert_eq!(r.strip("/openai/responses"), Some("/responses"));
        assert_eq!(r.strip("/openai"), Some(""));
        assert_eq!(r.strip("/openaix/responses"), None);
        let url = r.target("/responses", Some("a=1")).unwrap();
        assert_eq!(url.as_str(), "https://gw.example/v1/responses?a=1");
        assert_eq!(r.target("", None).unwrap().as_str(), "https://gw.example/v1");
        assert_eq!(r.target("//evil.example/x", None).unwrap().host_str(), Some("gw.example"));
        assert_eq!(r.target("/../../x", None).unwrap().as_str(), "https://gw.example/x");
    }

    #[test]
    fn routes_are_validated() {
        assert!(Route::new("", "https://x").is_err());
        assert!(Route::new("a//b", "https://x").is_err());
        assert!(Route::new("a b", "https://x").is_err());
        assert!(Route::new("a", "ftp://x").is_err());
        assert!(Route::new("a", "https://x/?q=1").is_err());
        assert!(Route::new("a", "https://u:p@x/").is_err());
        assert!(Route::new("mcp/x-1", "http://127.0.0.1:9/mcp").is_ok());
        assert_eq!(format!("{:?}", Secret::new("s3cr3t")), "Secret(***)");
    }
}
