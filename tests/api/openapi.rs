use crate::support::{json, spec, TestApp};

#[test]
fn committed_spec_matches_the_code() {
    let generated = drydock_api::openapi::yaml().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.yaml is out of date: run `UPDATE_OPENAPI=1 cargo nextest run -p drydock-api openapi` and commit it"
    );
    let doc = spec::committed();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

/// Every operation in the spec reaches a handler: none answers the no-such-route 404.
#[actix_web::test]
async fn every_documented_operation_has_a_route() {
    let app = TestApp::spawn().await;
    let doc = spec::committed();
    let mut count = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "00000000-0000-0000-0000-000000000000")
                .replace("{provider}", "github");
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .client
                .request(m, app.url(&concrete))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            if res.status() == 404 {
                let body = json(res, 404).await;
                assert_ne!(
                    body["detail"],
                    drydock_api::error::NO_SUCH_ROUTE,
                    "{method} {path} has no route"
                );
            }
            count += 1;
        }
    }
    assert!(count >= 10, "only {count} operations documented");
}
