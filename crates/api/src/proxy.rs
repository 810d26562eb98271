//! What a trusted reverse proxy tells us: the client's address and whether the client spoke
//! https. Only with `trust_proxy` are `X-Forwarded-For` and `X-Forwarded-Proto` read at all;
//! without it anyone could send them, to dodge throttling or to fake a client address.

use std::net::IpAddr;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpRequest};

use crate::state::AppState;

/// The address of the client: the peer, or behind a trusted proxy the last address of
/// `X-Forwarded-For` — the one that proxy appended; earlier entries are the client's own words.
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if !trust_proxy {
        return peer;
    }
    forwarded_for(req.headers()).or(peer)
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .last()?;
    parse_address(last)
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_address(value: &str) -> Option<IpAddr> {
    if let Ok(ip) = value.parse() {
        return Some(ip);
    }
    value.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

/// Whether a trusted proxy says the client used https.
pub fn forwarded_https(headers: &HeaderMap, trust_proxy: bool) -> bool {
    trust_proxy
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Middleware: behind a trusted proxy that terminated TLS, marks the cookies we set `Secure`
/// even when `public_url` does not say https (with an https `public_url` they already are).
pub async fn secure_cookies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let trust = req.app_data::<web::Data<AppState>>().is_some_and(|s| s.settings.trust_proxy);
    let https = forwarded_https(req.headers(), trust);
    let mut res = next.call(req).await?;
    if https {
        let cookies: Vec<HeaderValue> =
            res.headers().get_all(header::SET_COOKIE).cloned().collect();
        if !cookies.is_empty() {
            res.headers_mut().remove(header::SET_COOKIE);
            for cookie in cookies {
                let secured = match cookie.to_str() {
                    Ok(text) if !has_secure(text) => {
                        HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
                    }
                    _ => cookie,
                };
                res.headers_mut().append(header::SET_COOKIE, secured);
            }
        }
    }
    Ok(res)
}

fn has_secure(cookie: &str) -> bool {
    cookie.split(';').skip(1).any(|attr| attr.trim().eq_ignore_ascii_case("secure"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 198.51.100.7"))
            .insert_header(("x-forwarded-proto", "https"))
            .to_http_request();
        assert_eq!(client_ip(&req, false), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            client_ip(&req, true),
            Some("198.51.100.7".parse().unwrap()),
            "the entry our proxy appended, not the one the client wrote"
        );
        assert!(!forwarded_https(req.headers(), false));
        assert!(forwarded_https(req.headers(), true));
    }

    #[test]
    fn addresses_parse_with_and_without_ports() {
        assert_eq!(parse_address("[2001:db8::1]:443"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_address("192.0.2.1:80"), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(parse_address("unknown"), None);
        assert!(has_secure("a=b; HttpOnly; Secure") && !has_secure("secure=1; HttpOnly"));
    }
}
