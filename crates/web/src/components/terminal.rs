//! The Terminal tab: a shell in the task's live sandbox, drawn by xterm.js.
//!
//! xterm.js (and `terminal.js`, the glue that speaks the WebSocket protocol of
//! `docs/terminal.md`) are static files Trunk copies from `node_modules`; they are injected as
//! script tags the first time a terminal opens, so the initial bundle does not grow. Each
//! connection gets a fresh one-time token from `POST /tasks/{id}/terminal/token`, since a
//! browser cannot send the session's headers on a WebSocket.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use yew::prelude::*;

use crate::services::{api, config};
use crate::util::encode_component as enc;

/// The files the terminal needs, in load order: (element id, tag, URL).
const ASSETS: [(&str, &str, &str); 4] = [
    ("drydock-xterm-css", "link", "/xterm/xterm.css"),
    ("drydock-xterm-js", "script", "/xterm/xterm.js"),
    ("drydock-xterm-fit", "script", "/xterm/addon-fit.js"),
    ("drydock-terminal-js", "script", "/terminal.js"),
];

/// Props of [`Terminal`].
#[derive(Properties, PartialEq)]
pub struct TerminalProps {
    /// The task whose sandbox the shell runs in.
    pub task_id: Uuid,
}

/// What stays alive while the terminal is mounted: the JS handle and the callbacks it holds.
#[derive(Default)]
struct Mounted {
    handle: Option<JsValue>,
    connect: Option<Closure<dyn FnMut(JsValue) -> Promise>>,
    on_state: Option<Closure<dyn FnMut(String)>>,
    unmounted: bool,
}

impl Mounted {
    fn close(&mut self) {
        self.unmounted = true;
        if let Some(handle) = self.handle.take() {
            if let Ok(close) = Reflect::get(&handle, &"close".into()) {
                if let Ok(close) = close.dyn_into::<Function>() {
                    let _ = close.call0(&handle);
                }
            }
        }
    }
}

/// The terminal pane.
#[component]
pub fn Terminal(props: &TerminalProps) -> Html {
    let host = use_node_ref();
    let state = use_state(|| "loading".to_string());
    let error = use_state(|| None::<String>);
    {
        let (host, state, error) = (host.clone(), state.clone(), error.clone());
        use_effect_with(props.task_id, move |task_id| {
            let task_id = *task_id;
            let mounted = Rc::new(RefCell::new(Mounted::default()));
            let keep = mounted.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = load_assets(&ASSETS).await {
                    error.set(Some(e));
                    state.set("closed".into());
                    return;
                }
                let Some(element) = host.cast::<web_sys::Element>() else { return };
                let on_state = {
                    let state = state.clone();
                    Closure::<dyn FnMut(String)>::new(move |s: String| state.set(s))
                };
                let connect = {
                    let error = error.clone();
                    Closure::<dyn FnMut(JsValue) -> Promise>::new(move |session: JsValue| {
                        let (session, error) = (session.as_string(), error.clone());
                        future_to_promise(async move {
                            match api::terminal_token(task_id).await {
                                Ok(token) => {
                                    error.set(None);
                                    Ok(JsValue::from_str(&socket_url(
                                        task_id,
                                        &token.token,
                                        session.as_deref(),
                                    )))
                                }
                                Err(e) => {
                                    error.set(Some(e.message()));
                                    Err(JsValue::from_str(&e.message()))
                                }
                            }
                        })
                    })
                };
                let mut mounted = keep.borrow_mut();
                if mounted.unmounted {
                    return;
                }
                match open(&element, &connect, &on_state) {
                    Ok(handle) => mounted.handle = Some(handle),
                    Err(e) => error.set(Some(e)),
                }
                mounted.connect = Some(connect);
                mounted.on_state = Some(on_state);
            });
            move || mounted.borrow_mut().close()
        });
    }
    let label = match state.as_str() {
        "loading" | "connecting" => "Connecting…",
        "open" => "Connected",
        "reconnecting" => "Reconnecting…",
        "exited" => "The shell exited",
        _ => "Disconnected",
    };
    html! {
        <section class="terminal-pane" data-testid="terminal-pane">
            <div class="row wrap">
                <span class="muted" data-testid="terminal-state" data-state={(*state).clone()}>{ label }</span>
                <span class="muted small">{ "Ctrl+Shift+C / Ctrl+Shift+V copy and paste; ↑ ↓ history, Tab completes." }</span>
            </div>
            if let Some(e) = &*error {
                <p class="error-box" data-testid="terminal-error">{ e }</p>
            }
            <div class="terminal-host" data-testid="terminal" ref={host} />
        </section>
    }
}

/// `ws(s)://…/api/v1/tasks/{id}/terminal?token=…[&session=…]`, on the API's origin.
fn socket_url(task_id: Uuid, token: &str, session: Option<&str>) -> String {
    let mut url = config::api_url(&format!("/tasks/{task_id}/terminal?token={}", enc(token)));
    if let Some(session) = session {
        url.push_str(&format!("&session={}", enc(session)));
    }
    if url.starts_with('/') {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        url = format!("{origin}{url}");
    }
    if let Some(rest) = url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        url
    }
}

/// Calls `drydockTerminal.open(element, connect, onState)`.
fn open(
    element: &web_sys::Element,
    connect: &Closure<dyn FnMut(JsValue) -> Promise>,
    on_state: &Closure<dyn FnMut(String)>,
) -> Result<JsValue, String> {
    let window = web_sys::window().ok_or("no window")?;
    let glue = Reflect::get(&window, &"drydockTerminal".into()).map_err(|_| "no terminal glue")?;
    let open = Reflect::get(&glue, &"open".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or("the terminal glue did not load")?;
    open.call3(&glue, element, connect.as_ref(), on_state.as_ref())
        .map_err(|e| e.as_string().unwrap_or_else(|| "the terminal failed to start".into()))
}

/// Injects static files (`(element id, tag, URL)`) once, each after the one before: the
/// terminal's, the editor's.
pub(crate) async fn load_assets(assets: &[(&str, &str, &str)]) -> Result<(), String> {
    let document =
        web_sys::window().and_then(|w| w.document()).ok_or_else(|| "no document".to_string())?;
    for &(id, tag, url) in assets {
        let element = match document.get_element_by_id(id) {
            Some(existing) if existing.has_attribute("data-loaded") => continue,
            Some(existing) => existing,
            None => {
                let element = document.create_element(tag).map_err(|_| "no element")?;
                element.set_id(id);
                if tag == "link" {
                    let _ = element.set_attribute("rel", "stylesheet");
                    let _ = element.set_attribute("href", url);
                } else {
                    let _ = element.set_attribute("src", url);
                }
                element
            }
        };
        let loaded = Promise::new(&mut |resolve, reject| {
            let _ = element.add_event_listener_with_callback("load", &resolve);
            let _ = element.add_event_listener_with_callback("error", &reject);
        });
        if element.parent_node().is_none() {
            document
                .body()
                .ok_or("no body")?
                .append_child(&element)
                .map_err(|_| format!("cannot add {url}"))?;
        }
        JsFuture::from(loaded).await.map_err(|_| format!("{url} did not load"))?;
        let _ = element.set_attribute("data-loaded", "");
    }
    Ok(())
}
