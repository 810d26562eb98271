//! Validators for reads that clients repeat: an `ETag` on the response, and `304 Not Modified`
//! when the request's `If-None-Match` already names it.
//!
//! Tags are weak (`W/"…"`): they promise the same JSON, not the same bytes, which is what lets
//! one tag serve a compressed and an uncompressed copy alike.

use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// Whether the request's `If-None-Match` matches `tag` (weak comparison, `*` matches all).
pub fn matches(req: &HttpRequest, tag: &EntityTag) -> bool {
    match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(items)) => items.iter().any(|t| t.weak_eq(tag)),
        Err(_) => false,
    }
}

/// A weak tag naming exactly these bytes.
pub fn of_bytes(bytes: &[u8]) -> EntityTag {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    EntityTag::new_weak(hex)
}

/// `304 Not Modified` carrying `tag`.
pub fn not_modified(tag: EntityTag) -> HttpResponse {
    HttpResponse::NotModified().insert_header(header::ETag(tag)).finish()
}

/// A JSON body tagged with `tag`, or `304` when the client already holds it.
pub fn json_tagged(req: &HttpRequest, tag: EntityTag, body: impl Into<Bytes>) -> HttpResponse {
    if matches(req, &tag) {
        return not_modified(tag);
    }
    HttpResponse::Ok().content_type(mime_json()).insert_header(header::ETag(tag)).body(body.into())
}

/// A JSON body tagged by its own bytes, or `304` when the client already holds it.
pub fn json<T: serde::Serialize>(
    req: &HttpRequest,
    value: &T,
) -> Result<HttpResponse, serde_json::Error> {
    let body = serde_json::to_vec(value)?;
    let tag = of_bytes(&body);
    Ok(json_tagged(req, tag, body))
}

fn mime_json() -> header::ContentType {
    header::ContentType::json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_weak_and_compare_weakly() {
        let tag = of_bytes(b"{}");
        assert!(tag.weak);
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, format!("\"other\", \"{}\"", tag.tag())))
            .to_http_request();
        assert!(matches(&req, &tag));
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "W/\"other\""))
            .to_http_request();
        assert!(!matches(&req, &tag));
        let req = actix_web::test::TestRequest::default().to_http_request();
        assert!(!matches(&req, &tag));
    }
}
