//! Response compression: brotli or gzip, as the client's `Accept-Encoding` prefers, for
//! responses that are worth it.
//!
//! actix-web's own `Compress` middleware compresses every body but images and video, however
//! small, the event stream included (where its encoder flushes each time the stream pauses, so
//! every tiny frame pays a compressor flush and a few bytes of framing), and answers 406 to a
//! client that refuses `identity`. So the choice is made here, and the encoding is left to the
//! same actix-http [`Encoder`] `Compress` uses:
//! - only bodies of a known size of at least [`MIN_BYTES`]: a response that fits one TCP
//!   segment gains nothing, and a stream of unknown size (the event stream) is sent as written;
//! - only text-like types (JSON, problems, HTML, JS, CSS, wasm, SVG, YAML), never
//!   `text/event-stream`;
//! - never a partial (`206`) or an already encoded response.
//!
//! Brotli and gzip only: browsers send `br` over https and `gzip` everywhere, both at the
//! encoder's fast levels (brotli 3, gzip 1), and both build from Rust sources (zstd would build
//! a C library for a few percent).

use actix_http::encoding::Encoder;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, AcceptEncoding, ContentEncoding, Encoding, Header, HeaderValue,
};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::Error;

/// Smaller bodies are sent as they are (about one TCP segment).
pub const MIN_BYTES: u64 = 1400;

/// What this server can encode, best first.
const SUPPORTED: [Encoding; 2] =
    [Encoding::Known(ContentEncoding::Brotli), Encoding::Known(ContentEncoding::Gzip)];

/// The middleware (`actix_web::middleware::from_fn(compress::compress)`).
pub async fn compress(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let wanted = AcceptEncoding::parse(req.request())
        .ok()
        .and_then(|accept| accept.negotiate(SUPPORTED.iter()))
        .and_then(|e| match e {
            Encoding::Known(e) if e != ContentEncoding::Identity => Some(e),
            _ => None,
        });
    let res = next.call(req).await?;
    Ok(res.map_body(move |head, body| {
        let worth = worth_compressing(head, body.size());
        let encoding = match wanted {
            Some(e) if worth => {
                weaken_etag(head);
                e
            }
            _ => {
                // Another request may get it encoded: caches must tell them apart (the
                // encoder says so itself when it encodes).
                if worth {
                    head.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
                }
                ContentEncoding::Identity
            }
        };
        Encoder::response(encoding, head, body)
    }))
}

fn worth_compressing(head: &actix_http::ResponseHead, size: actix_web::body::BodySize) -> bool {
    let big = matches!(size, actix_web::body::BodySize::Sized(n) if n >= MIN_BYTES);
    let headers = &head.headers;
    big && head.status != StatusCode::PARTIAL_CONTENT
        && !headers.contains_key(header::CONTENT_ENCODING)
        && !headers.contains_key(header::CONTENT_RANGE)
        && headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(compressible)
}

/// Whether a body of this media type shrinks when compressed (and may be).
fn compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence == "text/event-stream" {
        return false;
    }
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/json"
                | "application/javascript"
                | "application/wasm"
                | "application/yaml"
                | "application/xml"
                | "image/svg+xml"
        )
}

/// A strong validator names exact bytes, which the encoded body no longer has: make it weak
/// (`If-None-Match` compares weakly, so revalidation still works).
fn weaken_etag(head: &mut actix_http::ResponseHead) {
    let Some(tag) = head.headers.get(header::ETAG).and_then(|v| v.to_str().ok()) else { return };
    if tag.starts_with("W/") {
        return;
    }
    if let Ok(weak) = HeaderValue::from_str(&format!("W/{tag}")) {
        head.headers.insert(header::ETAG, weak);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_types_are_compressible_and_the_event_stream_is_not() {
        for t in [
            "application/json",
            "application/problem+json",
            "text/html; charset=utf-8",
            "application/javascript",
            "application/wasm",
            "text/css",
            "image/svg+xml",
        ] {
            assert!(compressible(t), "{t}");
        }
        for t in ["text/event-stream", "image/png", "application/octet-stream", "font/woff2"] {
            assert!(!compressible(t), "{t}");
        }
    }
}
