//! Security headers on every response: a Content-Security-Policy, `nosniff`, no referrer, and
//! no framing.
//!
//! API responses (JSON, problems, SSE, metrics) get a policy that allows nothing: they are
//! data, never a document to run. The web app's HTML gets a policy that fits a wasm app
//! served by Trunk: its scripts from this origin only (`'wasm-unsafe-eval'` to compile the
//! module), plus the inline scripts of its `index.html` (Trunk's loader, the theme snippet)
//! by their SHA-256, computed from the file that is served, so no other inline script runs.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// Marks a response that may be framed (a dev server's preview, which sets its own
/// `frame-ancestors`): it gets no `X-Frame-Options: DENY` and no opener policy.
#[derive(Debug, Clone, Copy)]
pub struct Framable;

/// The policies, built once at start.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    api: HeaderValue,
    spa: HeaderValue,
}

/// The policy of everything that is not the web app's HTML.
const API_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

impl SecurityHeaders {
    /// Policies for this configuration; `index_html` is the served `index.html`, if any.
    pub fn new(settings: &Settings, index_html: Option<&str>) -> anyhow::Result<Self> {
        let spa = spa_policy(settings, index_html.unwrap_or_default());
        Ok(Self { api: HeaderValue::from_static(API_POLICY), spa: HeaderValue::from_str(&spa)? })
    }
}

fn spa_policy(settings: &Settings, index_html: &str) -> String {
    let hashes: String = inline_scripts(index_html)
        .into_iter()
        .map(|body| format!(" 'sha256-{}'", STANDARD.encode(Sha256::digest(body.as_bytes()))))
        .collect();
    // The API may live on another origin (`config.json`'s `api_base_url`); sign-in redirects
    // go to the providers, which is navigation, not a fetch, and needs no entry.
    let mut connect = String::from("'self'");
    if let Some(origin) = origin_of(&settings.public_base()) {
        connect.push(' ');
        connect.push_str(&origin);
    }
    // The Preview tab frames the preview: on this origin (`/preview/...`, covered by 'self'),
    // or on the preview domain's.
    let mut frames = String::from("'self'");
    if let Some(domain) = &settings.preview.domain {
        let scheme = if settings.public_base().starts_with("https://") { "https" } else { "http" };
        frames.push_str(&format!(" {scheme}://*.{}", domain.trim_matches('.')));
    }
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; connect-src {connect}; font-src 'self'; object-src 'none'; \
         frame-src {frames}; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// The bodies of the `<script>` elements without `src` in an HTML document, exactly as
/// written (the text a CSP hash covers).
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else { break };
        let tag = &after[..tag_end];
        let body_start = &after[tag_end + 1..];
        let Some(close) = body_start.find("</script>") else { break };
        if !tag.contains(" src=") && !tag.contains("\tsrc=") && !tag.contains("\nsrc=") {
            out.push(&body_start[..close]);
        }
        rest = &body_start[close + "</script>".len()..];
    }
    out
}

/// Middleware: sets the headers on every response (an existing CSP set by a handler wins).
pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let policies = req.app_data::<web::Data<SecurityHeaders>>().cloned();
    let mut res = next.call(req).await?;
    let Some(policies) = policies else { return Ok(res) };
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let framable = res.response().extensions().get::<Framable>().is_some();
    let headers = res.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = if is_html { policies.spa.clone() } else { policies.api.clone() };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !framable {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_scripts_with_src_skipped() {
        let html = "<head><script type=\"module\">import x;</script><script src=\"/a.js\"></script>\n<script>\n  theme();\n</script></head>";
        assert_eq!(inline_scripts(html), ["import x;", "\n  theme();\n"]);
    }

    #[test]
    fn the_spa_policy_allows_its_own_scripts_only() {
        let settings = Settings::from_toml("public_url = \"https://drydock.example/\"\n").unwrap();
        let policy = spa_policy(&settings, "<script>boot()</script>");
        let expected = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(b"boot()")));
        assert!(
            policy.contains(&format!("script-src 'self' 'wasm-unsafe-eval' {expected};")),
            "{policy}"
        );
        assert!(policy.contains("connect-src 'self' https://drydock.example;"), "{policy}");
        assert!(
            policy.contains("frame-ancestors 'none'") && !policy.contains(" 'unsafe-eval'"),
            "{policy}"
        );
    }
}
