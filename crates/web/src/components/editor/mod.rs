//! The Editor tab: a file browser and Monaco, over the task's live sandbox (editable, saved
//! with Ctrl/Cmd+S) or, when there is none, the pushed branch (read-only).
//!
//! Monaco (`monaco-editor`'s prebuilt `min/vs`, copied into `dist/monaco` by the web build)
//! and `editor.js` are injected the first time the tab opens, so the initial bundle does not
//! grow. The browser's state lives in one `Model` that the JS callbacks share; every change
//! redraws.

mod monaco;
pub mod tree;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use shared::workspace::{EntryKind, WorkspaceEntry};
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

use self::tree::{join, parent_of, Source, Tree};
use crate::components::terminal::load_assets;
use crate::services::workspace as api;

/// Props of [`Editor`].
#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// The task whose files are shown.
    pub task_id: Uuid,
}

/// A file operation waiting for a name or a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    NewFile,
    NewFolder,
    Rename,
    Copy,
    Delete,
    Discard,
}

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::NewFile => "New file",
            Op::NewFolder => "New folder",
            Op::Rename => "Rename or move to",
            Op::Copy => "Copy to",
            Op::Delete => "Delete",
            Op::Discard => "Discard the changes of",
        }
    }
}

/// What the pending operation acts on, and the name typed so far.
#[derive(Debug, Clone)]
struct Pending {
    op: Op,
    /// The entry (rename, copy, delete) or the folder (new file, new folder).
    target: String,
    value: String,
}

#[derive(Default)]
struct Model {
    source: Option<Source>,
    tree: Tree,
    tabs: Vec<String>,
    active: Option<String>,
    dirty: BTreeSet<String>,
    selected: Option<WorkspaceEntry>,
    menu: Option<(WorkspaceEntry, i32, i32)>,
    pending: Option<Pending>,
    message: Option<(bool, String)>,
    handle: Option<JsValue>,
    on_save: Option<Closure<dyn FnMut(String, String)>>,
    on_dirty: Option<Closure<dyn FnMut(String, bool)>>,
}

/// The shared model and a way to redraw after changing it.
#[derive(Clone)]
struct Ctx {
    id: Uuid,
    model: Rc<RefCell<Model>>,
    redraw: UseForceUpdateHandle,
}

impl Ctx {
    fn update(&self, change: impl FnOnce(&mut Model)) {
        change(&mut self.model.borrow_mut());
        self.redraw.force_update();
    }

    fn say(&self, error: bool, text: impl Into<String>) {
        let text = text.into();
        self.update(|m| m.message = Some((error, text)));
    }

    fn editable(&self) -> bool {
        self.model.borrow().source == Some(Source::Sandbox)
    }

    /// Loads the root: the live tree when there is a sandbox, else the branch's paths.
    async fn load_root(&self) {
        match api::entries(self.id, "").await {
            Ok(listing) => self.update(|m| {
                m.source = Some(Source::Sandbox);
                m.tree.folders.insert(String::new(), listing.entries);
            }),
            Err(e) if e.status() == Some(409) => match api::branch_files(self.id).await {
                Ok(files) => self.update(|m| {
                    m.source = Some(Source::Branch);
                    m.tree = Tree::from_paths(&files.paths);
                }),
                Err(e) => self.say(true, e.message()),
            },
            Err(e) => self.say(true, e.message()),
        }
    }

    /// Lists the root and every open folder again, after a change.
    async fn reload(&self) {
        if !self.editable() {
            return;
        }
        let mut folders = vec![String::new()];
        folders.extend(self.model.borrow().tree.open.iter().cloned());
        for folder in folders {
            match api::entries(self.id, &folder).await {
                Ok(listing) => self.update(|m| {
                    m.tree.folders.insert(folder.clone(), listing.entries);
                }),
                Err(_) => self.update(|m| {
                    m.tree.folders.remove(&folder);
                    m.tree.open.remove(&folder);
                }),
            }
        }
    }

    async fn toggle(&self, folder: String) {
        let was_open = self.model.borrow().tree.open.contains(&folder);
        if was_open {
            self.update(|m| {
                m.tree.open.remove(&folder);
            });
            return;
        }
        let loaded = self.model.borrow().tree.folders.contains_key(&folder);
        if !loaded {
            match api::entries(self.id, &folder).await {
                Ok(listing) => self.update(|m| {
                    m.tree.folders.insert(folder.clone(), listing.entries);
                }),
                Err(e) => return self.say(true, e.message()),
            }
        }
        self.update(|m| {
            m.tree.open.insert(folder);
        });
    }

    async fn open_file(&self, path: String) {
        let already = self.model.borrow().tabs.contains(&path);
        if !already {
            let read = if self.editable() {
                api::file(self.id, &path).await
            } else {
                api::branch_file(self.id, &path).await
            };
            let content = match read {
                Ok(file) => match file.content {
                    Some(text) if !file.truncated => text,
                    _ => return self.say(true, format!("{path} is not a text file the editor opens.")),
                },
                Err(e) => return self.say(true, e.message()),
            };
            let handle = self.model.borrow().handle.clone();
            let Some(handle) = handle else { return self.say(true, "The editor is still loading.") };
            let read_only = !self.editable();
            monaco::call(&handle, "open", &[path.clone().into(), content.into(), read_only.into()]);
        } else if let Some(handle) = self.model.borrow().handle.clone() {
            let read_only = !self.editable();
            monaco::call(&handle, "open", &[path.clone().into(), JsValue::NULL, read_only.into()]);
        }
        self.update(|m| {
            if !m.tabs.contains(&path) {
                m.tabs.push(path.clone());
            }
            m.active = Some(path);
        });
    }

    async fn save(&self, path: String, content: String) {
        if !self.editable() {
            return self.say(true, "The pushed branch is read-only; start the sandbox to edit.");
        }
        match api::save(self.id, &path, content).await {
            Ok(()) => {
                if let Some(handle) = self.model.borrow().handle.clone() {
                    monaco::call(&handle, "saved", &[path.clone().into()]);
                }
                self.say(false, format!("Saved {path}"));
            }
            Err(e) => self.say(true, e.message()),
        }
    }

    fn close_tab(&self, path: &str) {
        if let Some(handle) = self.model.borrow().handle.clone() {
            monaco::call(&handle, "close", &[path.into()]);
        }
        let path = path.to_owned();
        self.update(|m| {
            m.tabs.retain(|t| *t != path);
            m.dirty.remove(&path);
            if m.active.as_deref() == Some(path.as_str()) {
                m.active = m.tabs.last().cloned();
            }
        });
        let next = self.model.borrow().active.clone();
        if let (Some(next), Some(handle)) = (next, self.model.borrow().handle.clone()) {
            monaco::call(&handle, "open", &[next.into(), JsValue::NULL, (!self.editable()).into()]);
        }
    }

    /// Runs the pending operation with the name typed.
    async fn run(&self, pending: Pending) {
        let Pending { op, target, value } = pending;
        let value = value.trim().trim_matches('/').to_owned();
        if value.is_empty() && !matches!(op, Op::Delete | Op::Discard) {
            return self.say(true, "Type a name first.");
        }
        let done = match op {
            Op::NewFile => api::create_file(self.id, &join(&target, &value)).await,
            Op::NewFolder => api::create_folder(self.id, &join(&target, &value)).await,
            Op::Rename => api::relocate(self.id, &target, &value, false).await,
            Op::Copy => api::relocate(self.id, &target, &value, true).await,
            Op::Delete => api::delete(self.id, &target).await,
            Op::Discard => api::discard(self.id, &target).await,
        };
        match done {
            Ok(()) => {
                self.update(|m| m.pending = None);
                if matches!(op, Op::Rename | Op::Delete | Op::Discard) {
                    let gone: Vec<String> = self
                        .model
                        .borrow()
                        .tabs
                        .iter()
                        .filter(|t| **t == target || t.starts_with(&format!("{target}/")))
                        .cloned()
                        .collect();
                    for tab in gone {
                        self.close_tab(&tab);
                    }
                }
                self.say(false, format!("{}: done", op.label()));
                self.reload().await;
                if op == Op::NewFile {
                    self.open_file(join(&target, &value)).await;
                }
            }
            Err(e) => self.say(true, e.message()),
        }
    }
}

/// Starts `op` on `entry`: a name to type, or a confirmation for a delete.
fn begin(ctx: &Ctx, op: Op, entry: Option<&WorkspaceEntry>) {
    let (target, value) = match (op, entry) {
        (Op::NewFile | Op::NewFolder, Some(e)) if e.kind == EntryKind::Directory => {
            (e.path.clone(), String::new())
        }
        (Op::NewFile | Op::NewFolder, Some(e)) => (parent_of(&e.path), String::new()),
        (Op::NewFile | Op::NewFolder, None) => (String::new(), String::new()),
        (_, Some(e)) => (e.path.clone(), if op == Op::Copy { format!("{}.copy", e.path) } else { e.path.clone() }),
        (_, None) => return,
    };
    ctx.update(|m| {
        m.menu = None;
        m.pending = Some(Pending { op, target, value });
    });
}

/// The Editor tab.
#[component]
pub fn Editor(props: &EditorProps) -> Html {
    let host = use_node_ref();
    let model = use_mut_ref(Model::default);
    let redraw = use_force_update();
    let ctx = Ctx { id: props.task_id, model, redraw };
    {
        let (ctx, host) = (ctx.clone(), host.clone());
        use_effect_with(props.task_id, move |_| {
            let keep = ctx.clone();
            wasm_bindgen_futures::spawn_local(async move {
                ctx.load_root().await;
                if let Err(e) = load_assets(&monaco::ASSETS).await {
                    return ctx.say(true, e);
                }
                if let Err(e) = monaco::load().await {
                    return ctx.say(true, e);
                }
                let Some(element) = host.cast::<web_sys::Element>() else { return };
                let on_save = {
                    let ctx = ctx.clone();
                    Closure::<dyn FnMut(String, String)>::new(move |path: String, text: String| {
                        let ctx = ctx.clone();
                        wasm_bindgen_futures::spawn_local(async move { ctx.save(path, text).await });
                    })
                };
                let on_dirty = {
                    let ctx = ctx.clone();
                    Closure::<dyn FnMut(String, bool)>::new(move |path: String, dirty: bool| {
                        ctx.update(|m| {
                            if dirty {
                                m.dirty.insert(path);
                            } else {
                                m.dirty.remove(&path);
                            }
                        });
                    })
                };
                match monaco::create(&element, &on_save, &on_dirty) {
                    Ok(handle) => ctx.update(|m| {
                        m.handle = Some(handle);
                        m.on_save = Some(on_save);
                        m.on_dirty = Some(on_dirty);
                    }),
                    Err(e) => ctx.say(true, e),
                }
            });
            move || {
                let mut m = keep.model.borrow_mut();
                if let Some(handle) = m.handle.take() {
                    monaco::call(&handle, "dispose", &[]);
                }
            }
        });
    }

    let m = ctx.model.borrow();
    let editable = m.source == Some(Source::Sandbox);
    let source_label = match m.source {
        Some(Source::Sandbox) => "Live sandbox: Ctrl/Cmd+S saves",
        Some(Source::Branch) => "Pushed branch (read-only): start the sandbox to edit",
        None => "Loading…",
    };
    let on_key = {
        let ctx = ctx.clone();
        Callback::from(move |e: KeyboardEvent| {
            let selected = ctx.model.borrow().selected.clone();
            let Some(entry) = selected else { return };
            if !ctx.editable() {
                return;
            }
            match e.key().as_str() {
                "F2" => begin(&ctx, Op::Rename, Some(&entry)),
                "Delete" => begin(&ctx, Op::Delete, Some(&entry)),
                _ => return,
            }
            e.prevent_default();
        })
    };
    let rows = m.tree.rows().into_iter().map(|(depth, entry)| {
        let is_dir = entry.kind == EntryKind::Directory;
        let open = is_dir && m.tree.open.contains(&entry.path);
        let icon = match entry.kind {
            EntryKind::Directory if open => "▾",
            EntryKind::Directory => "▸",
            EntryKind::Symlink => "↪",
            EntryKind::Other => "·",
            EntryKind::File => " ",
        };
        let selected = m.selected.as_ref().is_some_and(|s| s.path == entry.path);
        let onclick = {
            let (ctx, entry) = (ctx.clone(), entry.clone());
            Callback::from(move |_: MouseEvent| {
                ctx.update(|m| {
                    m.selected = Some(entry.clone());
                    m.menu = None;
                });
                let (ctx, entry) = (ctx.clone(), entry.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match entry.kind {
                        EntryKind::Directory => ctx.toggle(entry.path).await,
                        EntryKind::File => ctx.open_file(entry.path).await,
                        _ => ctx.say(true, format!("{} is a link or a special file; it is not opened.", entry.path)),
                    }
                });
            })
        };
        let oncontextmenu = {
            let (ctx, entry) = (ctx.clone(), entry.clone());
            Callback::from(move |e: MouseEvent| {
                if !ctx.editable() {
                    return;
                }
                e.prevent_default();
                let at = (e.client_x(), e.client_y());
                ctx.update(|m| {
                    m.selected = Some(entry.clone());
                    m.menu = Some((entry.clone(), at.0, at.1));
                });
            })
        };
        html! {
            <div class={classes!("entry", selected.then_some("selected"))} role="treeitem"
                 data-testid="editor-entry" data-path={entry.path.clone()} data-kind={format!("{:?}", entry.kind).to_lowercase()}
                 style={format!("padding-left: {}rem", 0.4 + depth as f32 * 0.9)}
                 {onclick} {oncontextmenu}>
                <span class="icon">{ icon }</span><span class="name">{ entry.name.clone() }</span>
            </div>
        }
    });
    let menu = m.menu.clone().map(|(entry, x, y)| {
        let item = |op: Op, label: &'static str, testid: &'static str| {
            let (ctx, entry) = (ctx.clone(), entry.clone());
            html! { <button data-testid={testid} onclick={move |_| begin(&ctx, op, Some(&entry))}>{ label }</button> }
        };
        html! {
            <div class="context-menu" data-testid="editor-menu" role="menu" style={format!("left: {x}px; top: {y}px")}>
                { item(Op::NewFile, "New file", "menu-new-file") }
                { item(Op::NewFolder, "New folder", "menu-new-folder") }
                { item(Op::Rename, "Rename / move (F2)", "menu-rename") }
                { item(Op::Copy, "Copy", "menu-copy") }
                { item(Op::Delete, "Delete (Del)", "menu-delete") }
                { item(Op::Discard, "Discard changes", "menu-discard") }
            </div>
        }
    });
    let pending = m.pending.clone().map(|p| {
        let oninput = {
            let ctx = ctx.clone();
            Callback::from(move |e: InputEvent| {
                let value = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
                ctx.update(|m| {
                    if let Some(p) = &mut m.pending {
                        p.value = value;
                    }
                });
            })
        };
        let go = {
            let (ctx, p) = (ctx.clone(), p.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                let (ctx, current) = (ctx.clone(), ctx.model.borrow().pending.clone().unwrap_or(p.clone()));
                wasm_bindgen_futures::spawn_local(async move { ctx.run(current).await });
            })
        };
        let cancel = {
            let ctx = ctx.clone();
            Callback::from(move |_: MouseEvent| ctx.update(|m| m.pending = None))
        };
        let confirm_only = matches!(p.op, Op::Delete | Op::Discard);
        let prompt = match p.op {
            Op::Delete => format!("Delete {}?", p.target),
            Op::Discard => format!("Discard the changes of {} (back to the last commit)?", p.target),
            Op::NewFile | Op::NewFolder if p.target.is_empty() => format!("{} in the root:", p.op.label()),
            Op::NewFile | Op::NewFolder => format!("{} in {}:", p.op.label(), p.target),
            Op::Rename | Op::Copy => format!("{}:", p.op.label()),
        };
        html! {
            <form class="editor-pending row" data-testid="editor-pending" onsubmit={go}>
                <label>{ prompt }</label>
                if !confirm_only {
                    <input data-testid="editor-name" value={p.value.clone()} {oninput} autofocus=true />
                }
                <button type="submit" class={classes!("btn", confirm_only.then_some("danger"))} data-testid="editor-confirm">
                    { if confirm_only { "Yes" } else { "OK" } }
                </button>
                <button type="button" onclick={cancel}>{ "Cancel" }</button>
            </form>
        }
    });
    let tabs = m.tabs.iter().map(|path| {
        let active = m.active.as_deref() == Some(path.as_str());
        let dirty = m.dirty.contains(path);
        let show = {
            let (ctx, path) = (ctx.clone(), path.clone());
            Callback::from(move |_: MouseEvent| {
                let (ctx, path) = (ctx.clone(), path.clone());
                wasm_bindgen_futures::spawn_local(async move { ctx.open_file(path).await });
            })
        };
        let close = {
            let (ctx, path) = (ctx.clone(), path.clone());
            Callback::from(move |e: MouseEvent| {
                e.stop_propagation();
                ctx.close_tab(&path);
            })
        };
        let name = path.rsplit('/').next().unwrap_or(path).to_owned();
        html! {
            <div class={classes!("editor-tab", active.then_some("active"))} data-testid="editor-tab" data-path={path.clone()}
                 data-dirty={dirty.to_string()} title={path.clone()} onclick={show}>
                <span>{ name }{ if dirty { " ●" } else { "" } }</span>
                <button class="close" aria-label="Close" onclick={close}>{ "×" }</button>
            </div>
        }
    });
    let close_menu = {
        let ctx = ctx.clone();
        Callback::from(move |_: MouseEvent| {
            if ctx.model.borrow().menu.is_some() {
                ctx.update(|m| m.menu = None);
            }
        })
    };
    let new_at_root = |op: Op, label: &'static str, testid: &'static str| {
        let ctx = ctx.clone();
        html! { <button class="small" data-testid={testid} disabled={!editable} onclick={move |_| begin(&ctx, op, None)}>{ label }</button> }
    };
    html! {
        <section class="editor-pane" data-testid="editor-pane" data-source={match m.source { Some(Source::Sandbox) => "sandbox", Some(Source::Branch) => "branch", None => "loading" }} onclick={close_menu}>
            <div class="row wrap">
                <span class="muted" data-testid="editor-source">{ source_label }</span>
                { new_at_root(Op::NewFile, "New file", "editor-new-file") }
                { new_at_root(Op::NewFolder, "New folder", "editor-new-folder") }
                if let Some((error, text)) = &m.message {
                    <span class={if *error { "error-text" } else { "muted" }} data-testid="editor-message">{ text.clone() }</span>
                }
            </div>
            { for pending }
            <div class="editor-body">
                <div class="editor-files" role="tree" tabindex="0" data-testid="editor-files" onkeydown={on_key}>
                    { for rows }
                </div>
                <div class="editor-main">
                    <div class="editor-tabs" data-testid="editor-tabs">{ for tabs }</div>
                    <div class="editor-host" data-testid="editor" ref={host} />
                </div>
            </div>
            { for menu }
        </section>
    }
}
