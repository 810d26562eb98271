//! Bindings to `static/editor.js` (`window.drydockEditor`), which drives Monaco.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Monaco's AMD loader, then the glue; injected the first time the Editor tab opens.
pub const ASSETS: [(&str, &str, &str); 2] = [
    ("drydock-monaco-loader", "script", "/monaco/vs/loader.js"),
    ("drydock-editor-js", "script", "/editor.js"),
];

fn glue() -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    Reflect::get(&window, &"drydockEditor".into()).map_err(|_| "the editor glue did not load".into())
}

fn method(target: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(target, &name.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| format!("the editor has no {name}"))
}

/// Waits until Monaco itself is loaded.
pub async fn load() -> Result<(), String> {
    let glue = glue()?;
    let promise = method(&glue, "load")?.call0(&glue).map_err(|_| "Monaco did not load")?;
    JsFuture::from(Promise::from(promise)).await.map(|_| ()).map_err(|_| "Monaco did not load".into())
}

/// An editor in `element`; `on_save(path, text)` on Ctrl/Cmd+S, `on_dirty(path, dirty)` on edits.
pub fn create(
    element: &web_sys::Element,
    on_save: &Closure<dyn FnMut(String, String)>,
    on_dirty: &Closure<dyn FnMut(String, bool)>,
) -> Result<JsValue, String> {
    let glue = glue()?;
    method(&glue, "create")?
        .call3(&glue, element, on_save.as_ref(), on_dirty.as_ref())
        .map_err(|_| "the editor failed to start".into())
}

/// Calls `handle.name(args...)`, ignoring what it returns.
pub fn call(handle: &JsValue, name: &str, args: &[JsValue]) {
    if let Ok(f) = method(handle, name) {
        let args: js_sys::Array = args.iter().collect();
        let _ = f.apply(handle, &args);
    }
}
