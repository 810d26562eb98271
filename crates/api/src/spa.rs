//! Serves the built web app: static files, and `index.html` for every other path so the
//! SPA's client-side routes survive a reload. Unknown `/api/...` paths stay JSON 404s.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{fn_service, ServiceRequest, ServiceResponse};

use crate::error::ApiError;

/// The static file service for `dir` mounted at `/`.
pub fn files(dir: &Path) -> Files {
    let index: PathBuf = dir.join("index.html");
    Files::new("/", dir).index_file("index.html").default_handler(fn_service(
        move |req: ServiceRequest| {
            let index = index.clone();
            async move {
                let (req, _) = req.into_parts();
                if req.path().starts_with("/api/") {
                    let res = actix_web::ResponseError::error_response(&ApiError::NoSuchRoute);
                    return Ok(ServiceResponse::new(req, res));
                }
                let file = NamedFile::open_async(index).await?;
                let res = file.into_response(&req);
                Ok(ServiceResponse::new(req, res))
            }
        },
    ))
}
