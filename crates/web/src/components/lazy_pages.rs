//! The rarely opened pages (sign-in, setup, invitations, administration, settings and the
//! repository browser) live in a second wasm module, `crates/web-lazy`, so that the app's
//! initial bundle, which every page load pays for, does not carry them (docs/benchmarks.md).
//!
//! [`LazyPages`] stands in for all of them in the app's routes: the first time one opens it
//! injects the module's glue (`/lazy/drydock_web_lazy.js`, built by Trunk's post-build hook,
//! `scripts/build-web-lazy.sh`), instantiates it and mounts its Yew app into a host element.
//! That app renders the page of the current URL with its own router on the same browser
//! history. The two apps keep in step through:
//!
//! - the URL: whichever app navigates dispatches a `popstate` event ([`notify_history`]), which
//!   both routers listen to, so the other one re-reads the location;
//! - the session: the main app hands the signed-in user (as JSON) to the module on mount and
//!   whenever it changes; the module reports sign-ins and sign-outs back through a callback.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use shared::auth::Me;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::components::async_content::loading;
use crate::components::terminal::load_assets;
use crate::hooks::use_session;
use crate::services::config;

/// The module's wasm-bindgen glue (`--target no-modules`, global `drydockLazy`).
const ASSETS: [(&str, &str, &str); 1] =
    [("drydock-lazy-js", "script", "/lazy/drydock_web_lazy.js")];

/// The module itself, fetched by the glue.
const WASM_URL: &str = "/lazy/drydock_web_lazy_bg.wasm";

thread_local! {
    /// The module's instantiation, started once and shared by every mount.
    static INIT: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Tells both apps' routers that the URL changed (`popstate`, which `gloo-history` listens to).
pub fn notify_history() {
    if let Some(window) = web_sys::window() {
        if let Ok(event) = web_sys::Event::new("popstate") {
            let _ = window.dispatch_event(&event);
        }
    }
}

/// `drydockLazy[name]`, once the glue is loaded.
fn glue(name: &str) -> Result<Function, String> {
    let global = Reflect::get(&js_sys::global(), &"drydockLazy".into())
        .map_err(|_| "the pages module did not load".to_string())?;
    let f = if name.is_empty() {
        global
    } else {
        Reflect::get(&global, &name.into()).unwrap_or_default()
    };
    f.dyn_into::<Function>().map_err(|_| format!("the pages module has no {name}"))
}

/// Loads and instantiates the module (once).
async fn load_module() -> Result<(), String> {
    load_assets(&ASSETS).await?;
    let promise = match INIT.with(|i| i.borrow().clone()) {
        Some(p) => p,
        None => {
            let options = Object::new();
            let _ = Reflect::set(&options, &"module_or_path".into(), &WASM_URL.into());
            let p: Promise = glue("")?
                .call1(&JsValue::NULL, &options)
                .map_err(|_| "the pages module did not start".to_string())?
                .into();
            INIT.with(|i| *i.borrow_mut() = Some(p.clone()));
            p
        }
    };
    JsFuture::from(promise).await.map_err(|_| "the pages module did not start".to_string())?;
    Ok(())
}

fn me_json(me: Option<&Me>) -> JsValue {
    me.and_then(|m| serde_json::to_string(m).ok()).map(JsValue::from).unwrap_or(JsValue::NULL)
}

/// What stays alive while the module's app is mounted.
#[derive(Default)]
struct Mounted {
    id: Option<u32>,
    on_session: Option<Closure<dyn FnMut(JsValue)>>,
    unmounted: bool,
}

/// Props of [`LazyView`].
#[derive(Properties, PartialEq)]
pub struct LazyViewProps {
    /// What to show, as the module's `View` JSON: `{"view":"pages"}` (the page of the URL),
    /// `{"view":"sidebar-repos","comings_and_goings":0}`, `{"view":"changes","task_id":"…","refresh":0}` or
    /// `{"view":"preview",…}` alike.
    pub view: AttrValue,
    /// Tell the module's router when this app navigates (the route pages only).
    #[prop_or_default]
    pub follow_route: bool,
}

/// A view of the lazily loaded module, mounted into a host element; see the module docs.
#[component]
pub fn LazyView(props: &LazyViewProps) -> Html {
    let session = use_session();
    let route = use_route::<Route>();
    let host = use_node_ref();
    let error = use_state(|| None::<String>);
    let ready = use_state(|| false);
    let me = session.me();
    let state = use_mut_ref(Mounted::default);
    // What the mount shows once the module has loaded (the props may change meanwhile).
    let latest = use_mut_ref(|| (AttrValue::default(), None::<Rc<Me>>));
    *latest.borrow_mut() = (props.view.clone(), me.clone());
    {
        let (host, error, ready, state) =
            (host.clone(), error.clone(), ready.clone(), state.clone());
        let set = session.set.clone();
        use_effect_with((), move |()| {
            let keep = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = load_module().await {
                    return error.set(Some(e));
                }
                let Some(element) = host.cast::<web_sys::Element>() else { return };
                let mut s = state.borrow_mut();
                if s.unmounted {
                    return;
                }
                // Deferred, so that the main app never re-renders inside the module's callback.
                let on_session = Closure::<dyn FnMut(JsValue)>::new(move |me: JsValue| {
                    let me = me.as_string().and_then(|j| serde_json::from_str::<Me>(&j).ok());
                    let set = set.clone();
                    wasm_bindgen_futures::spawn_local(async move { set.emit(me) });
                });
                let (view, me) = latest.borrow().clone();
                let args = js_sys::Array::of5(
                    &element,
                    &JsValue::from_str(&view),
                    &config::base_url().into(),
                    &me_json(me.as_deref()),
                    on_session.as_ref(),
                );
                match glue("mount").and_then(|f| {
                    f.apply(&JsValue::NULL, &args).map_err(|_| "the view did not open".to_string())
                }) {
                    Ok(id) => {
                        s.on_session = Some(on_session);
                        s.id = id.as_f64().map(|id| id as u32);
                        ready.set(true);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
            move || {
                let mut s = keep.borrow_mut();
                s.unmounted = true;
                if let (Some(id), Ok(f)) = (s.id, glue("unmount")) {
                    let _ = f.call1(&JsValue::NULL, &id.into());
                }
            }
        });
    }
    {
        // The session or the view's props changed here: tell the module.
        let state = state.clone();
        use_effect_with((me.clone(), props.view.clone()), move |(me, view)| {
            if let (Some(id), Ok(f)) = (state.borrow().id, glue("update")) {
                let _ = f.call3(
                    &JsValue::NULL,
                    &id.into(),
                    &JsValue::from_str(view),
                    &me_json(me.as_deref()),
                );
            }
        });
    }
    {
        // This app navigated from one of the module's pages to another: tell its router.
        let (state, follow) = (state.clone(), props.follow_route);
        use_effect_with(route, move |_| {
            if follow && state.borrow().id.is_some() {
                notify_history();
            }
        });
    }
    html! {
        <>
            if let Some(e) = &*error {
                <p class="error" role="alert">{ format!("This page could not be loaded: {e}") }</p>
            } else if !*ready {
                { loading() }
            }
            <div class="lazy-host" ref={host} />
        </>
    }
}

/// The route pages of the module (sign-in, settings, administration…), whichever the URL names.
#[component]
pub fn LazyPages() -> Html {
    html! { <LazyView view={r#"{"view":"pages"}"#} follow_route=true /> }
}

/// A view of one task (`changes`, `preview`), with the counter that makes it reload.
pub fn task_view(view: &str, task_id: uuid::Uuid, refresh: usize) -> AttrValue {
    format!(r#"{{"view":"{view}","task_id":"{task_id}","refresh":{refresh}}}"#).into()
}
