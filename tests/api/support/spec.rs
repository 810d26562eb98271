//! Validates response bodies against the schemas in the committed `openapi.yaml`.

use serde_json::Value;

/// The committed spec as JSON.
pub fn committed() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi.yaml");
    let text = std::fs::read_to_string(path).expect("openapi.yaml at the repository root");
    serde_yaml_ng::from_str(&text).expect("openapi.yaml parses")
}

/// Asserts `body` matches the schema the spec gives for `method path` answering `status`.
pub fn assert_valid(method: &str, path: &str, status: u16, body: &Value) {
    let spec = committed();
    let response = &spec["paths"][path][method]["responses"][status.to_string()];
    assert!(!response.is_null(), "the spec has no {status} response for {method} {path}");
    let content = &response["content"];
    let schema = content
        .as_object()
        .and_then(|c| c.values().next())
        .map(|media| media["schema"].clone())
        .unwrap_or_else(|| panic!("no schema for {status} of {method} {path}"));
    let mut root = schema;
    if let Some(obj) = root.as_object_mut() {
        obj.insert("components".into(), spec["components"].clone());
    }
    let validator = jsonschema::draft202012::new(&root).expect("schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(body).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match the spec: {errors:?}\nbody: {body}"
    );
}
