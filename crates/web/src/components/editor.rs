//! The Editor tab: a file browser and Monaco over the task's live sandbox (saved with
//! Ctrl/Cmd+S), or the pushed branch (read-only) when there is none; see `docs/workspace.md`.
//!
//! Monaco (`monaco-editor`'s prebuilt `min/vs`, copied into `dist/monaco` by the web build)
//! and `static/editor.js`, which draws the browser and the tabs, are injected the first time
//! the tab opens. The browser lives in that script rather than here so that the app's initial
//! bundle, which every page load pays for, does not grow with it (docs/benchmarks.md).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::terminal::load_assets;
use crate::services::{client, config};

/// Monaco's AMD loader, then the editor; injected the first time the Editor tab opens.
const ASSETS: [(&str, &str, &str); 2] = [
    ("drydock-monaco-loader", "script", "/monaco/vs/loader.js"),
    ("drydock-editor-js", "script", "/editor.js"),
];

/// Props of [`Editor`].
#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// The task whose files are shown.
    pub task_id: Uuid,
}

/// What stays alive while a view is mounted: its JS handle and the callbacks it holds.
#[derive(Default)]
struct Mounted {
    handle: Option<JsValue>,
    callbacks: Vec<Closure<dyn FnMut() -> JsValue>>,
    unmounted: bool,
}

/// The options of a `drydockEditor` view and the callbacks they hand to JS (kept alive while
/// the view is mounted).
pub(crate) type ViewOptions = (Object, Vec<Closure<dyn FnMut() -> JsValue>>);

/// Mounts `drydockEditor[method](host, options)` once Monaco and the glue are loaded, showing
/// a failure in `error`; the returned function disposes the view (an effect's cleanup).
pub(crate) fn mount_view(
    host: NodeRef,
    error: UseStateHandle<Option<String>>,
    method: &'static str,
    options: impl FnOnce() -> Result<ViewOptions, String> + 'static,
) -> impl FnOnce() {
    let mounted = Rc::new(RefCell::new(Mounted::default()));
    let keep = mounted.clone();
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = load_assets(&ASSETS).await {
            return error.set(Some(e));
        }
        let Some(element) = host.cast::<web_sys::Element>() else { return };
        let mut m = mounted.borrow_mut();
        if m.unmounted {
            return;
        }
        match options().and_then(|(options, callbacks)| {
            m.callbacks = callbacks;
            call_glue(method, &element, &options)
        }) {
            Ok(handle) => m.handle = Some(handle),
            Err(e) => error.set(Some(e)),
        }
    });
    move || {
        let handle = {
            let mut m = keep.borrow_mut();
            m.unmounted = true;
            m.handle.take()
        };
        if let Some(handle) = handle {
            if let Ok(dispose) = Reflect::get(&handle, &"dispose".into()) {
                if let Ok(dispose) = dispose.dyn_into::<Function>() {
                    let _ = dispose.call0(&handle);
                }
            }
        }
    }
}

/// Sets `key` on a view's options.
pub(crate) fn set_option(options: &Object, key: &str, value: &JsValue) -> Result<(), String> {
    Reflect::set(options, &key.into(), value)
        .map(|_| ())
        .map_err(|_| format!("cannot pass the editor its {key}"))
}

/// The editor pane.
#[component]
pub fn Editor(props: &EditorProps) -> Html {
    let host = use_node_ref();
    let error = use_state(|| None::<String>);
    {
        let (host, error) = (host.clone(), error.clone());
        use_effect_with(props.task_id, move |task_id| {
            let task_id = *task_id;
            mount_view(host, error, "mount", move || {
                let csrf = Closure::<dyn FnMut() -> JsValue>::new(|| {
                    client::csrf_token().map(JsValue::from).unwrap_or(JsValue::NULL)
                });
                let unauthorized = Closure::<dyn FnMut() -> JsValue>::new(|| {
                    client::unauthorized();
                    JsValue::UNDEFINED
                });
                let options = Object::new();
                set_option(&options, "taskId", &task_id.to_string().into())?;
                set_option(&options, "apiBase", &absolute(&config::api_url("")).into())?;
                set_option(&options, "csrf", csrf.as_ref())?;
                set_option(&options, "onUnauthorized", unauthorized.as_ref())?;
                Ok((options, vec![csrf, unauthorized]))
            })
        });
    }
    html! {
        <>
            if let Some(e) = &*error {
                <p class="error-box" data-testid="editor-error">{ e }</p>
            }
            <div class="editor-mount" ref={host} />
        </>
    }
}

/// Calls `drydockEditor[method](element, options)`.
fn call_glue(
    method: &str,
    element: &web_sys::Element,
    options: &Object,
) -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let glue = Reflect::get(&window, &"drydockEditor".into()).map_err(|_| "no editor glue")?;
    let mount = Reflect::get(&glue, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or("the editor did not load")?;
    mount
        .call2(&glue, element, options)
        .map_err(|e| e.as_string().unwrap_or_else(|| "the editor failed to start".into()))
}

/// `url` on the page's origin when it is a path.
fn absolute(url: &str) -> String {
    if url.starts_with('/') {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        format!("{origin}{url}")
    } else {
        url.to_owned()
    }
}
