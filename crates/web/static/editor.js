// Drydock's web editor (docs/workspace.md): a file browser over the task's live sandbox (or,
// without one, the pushed branch, read-only), tabs of open files, and Monaco.
//
// Everything here is loaded on demand by the Editor tab, after Monaco's AMD loader, so the
// first page load pays for none of it: that is why the browser lives here and not in the
// app's wasm (whose size has a budget; see docs/benchmarks.md). Exposes `drydockEditor.mount`.
"use strict";
(function () {
  var loading = null;

  // Loads Monaco from /monaco/vs (copied there by the web build; never a CDN).
  function loadMonaco() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      if (!window.require || !window.require.config) {
        reject(new Error("Monaco's loader is missing"));
        return;
      }
      // UMD bundles loaded later (xterm.js) must not take the AMD path: Monaco's own modules
      // call define() directly and do not need the flag.
      if (window.define && window.define.amd) delete window.define.amd;
      window.require.config({ paths: { vs: "/monaco/vs" } });
      window.require(["vs/editor/editor.main"], function () { resolve(window.monaco); }, reject);
    });
    return loading;
  }

  // Whether the app shows its dark theme: `data-theme` on <html>, or the system's when it
  // says "system" (see theme.rs).
  function dark() {
    var t = document.documentElement.getAttribute("data-theme");
    if (t === "dark") return true;
    if (t === "light") return false;
    return !!(window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  }

  // Keeps Monaco's theme on the app's while a view is mounted; returns the function that stops.
  function followTheme() {
    function apply() { if (window.monaco) window.monaco.editor.setTheme(dark() ? "vs-dark" : "vs"); }
    var observer = new MutationObserver(apply);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    if (media && media.addEventListener) media.addEventListener("change", apply);
    return function () {
      observer.disconnect();
      if (media && media.removeEventListener) media.removeEventListener("change", apply);
    };
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function parentOf(path) { var i = path.lastIndexOf("/"); return i < 0 ? "" : path.slice(0, i); }
  function join(folder, name) { return folder ? folder + "/" + name : name; }
  function byFolderFirst(a, b) {
    var da = a.kind === "directory" ? 0 : 1, db = b.kind === "directory" ? 0 : 1;
    return da - db || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }

  // The pushed branch's folders, from its flat list of paths.
  function foldersOf(paths) {
    var folders = { "": {} };
    paths.forEach(function (path) {
      var parts = path.split("/"), parent = "";
      parts.forEach(function (name, i) {
        var here = join(parent, name);
        folders[parent] = folders[parent] || {};
        if (!folders[parent][name]) {
          folders[parent][name] = { name: name, path: here, kind: i + 1 === parts.length ? "file" : "directory", size: 0 };
        }
        parent = here;
      });
    });
    var out = {};
    for (var f in folders) out[f] = Object.keys(folders[f]).map(function (n) { return folders[f][n]; }).sort(byFolderFirst);
    return out;
  }

  // Mounts the editor in `root`. `options`: `taskId`, `apiBase` (the API's /api/v1 URL),
  // `csrf()` (the session's CSRF token, for changes), `onUnauthorized()`. Returns `{ dispose }`.
  function mount(root, options) {
    var api = options.apiBase.replace(/\/$/, "") + "/tasks/" + options.taskId;
    var state = { source: null, folders: {}, open: {}, tabs: [], active: null, dirty: {}, selected: null, pending: null };
    var monaco = null, editor = null, models = {}, disposed = false;

    function request(method, path, body, raw) {
      var headers = { Accept: "application/json, application/problem+json" };
      if (method !== "GET") {
        var token = options.csrf();
        if (token) headers["X-CSRF-Token"] = token;
      }
      if (body !== undefined) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
      return fetch(api + path, {
        method: method, credentials: "include", headers: headers,
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      }).then(function (res) {
        if (res.status === 401) options.onUnauthorized();
        return res.text().then(function (text) {
          var json = null;
          try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
          if (res.ok) return json;
          var problem = json || {};
          var field = problem.errors && Object.keys(problem.errors)[0];
          var err = new Error(field ? problem.errors[field][0] : problem.detail || problem.title || res.statusText);
          err.status = res.status;
          throw err;
        });
      });
    }
    var q = encodeURIComponent;

    // The skeleton; the parts below redraw their own children.
    var label = el("span", { "class": "muted", "data-testid": "editor-source", text: "Loading…" });
    var message = el("span", { "class": "muted", "data-testid": "editor-message" });
    var newFile = el("button", { "class": "small", "data-testid": "editor-new-file", disabled: "", onclick: function () { begin("new-file", null); } }, [document.createTextNode("New file")]);
    var newFolder = el("button", { "class": "small", "data-testid": "editor-new-folder", disabled: "", onclick: function () { begin("new-folder", null); } }, [document.createTextNode("New folder")]);
    var pendingBox = el("div");
    var files = el("div", { "class": "editor-files", role: "tree", tabindex: "0", "data-testid": "editor-files", onkeydown: onKey });
    var tabs = el("div", { "class": "editor-tabs", "data-testid": "editor-tabs" });
    var host = el("div", { "class": "editor-host", "data-testid": "editor" });
    var menu = el("div", { "class": "context-menu", "data-testid": "editor-menu", role: "menu", hidden: "" });
    var pane = el("section", { "class": "editor-pane", "data-testid": "editor-pane", "data-source": "loading" }, [
      el("div", { "class": "row wrap" }, [label, newFile, newFolder, message]),
      pendingBox,
      el("div", { "class": "editor-body" }, [files, el("div", { "class": "editor-main" }, [tabs, host])]),
      menu,
    ]);
    root.appendChild(pane);
    document.addEventListener("click", hideMenu);

    function say(error, text) {
      message.className = error ? "error-text" : "muted";
      message.textContent = text;
    }
    function editable() { return state.source === "sandbox"; }
    function hideMenu() { menu.hidden = true; }

    function drawFiles() {
      files.textContent = "";
      (function rows(folder, depth) {
        (state.folders[folder] || []).forEach(function (entry) {
          var isDir = entry.kind === "directory", open = isDir && state.open[entry.path];
          var icon = isDir ? (open ? "▾" : "▸") : entry.kind === "symlink" ? "↪" : entry.kind === "other" ? "·" : " ";
          files.appendChild(el("div", {
            "class": "entry" + (state.selected && state.selected.path === entry.path ? " selected" : ""),
            role: "treeitem", "data-testid": "editor-entry", "data-path": entry.path, "data-kind": entry.kind,
            style: "padding-left: " + (0.4 + depth * 0.9) + "rem",
            onclick: function (e) { e.stopPropagation(); hideMenu(); select(entry); activate(entry); },
            oncontextmenu: function (e) { if (editable()) { e.preventDefault(); select(entry); showMenu(entry, e.clientX, e.clientY); } },
          }, [el("span", { "class": "icon", text: icon }), el("span", { "class": "name", text: entry.name })]));
          if (open) rows(entry.path, depth + 1);
        });
      })("", 0);
    }
    function select(entry) { state.selected = entry; drawFiles(); files.focus(); }

    function drawTabs() {
      tabs.textContent = "";
      state.tabs.forEach(function (path) {
        var dirty = !!state.dirty[path];
        tabs.appendChild(el("div", {
          "class": "editor-tab" + (state.active === path ? " active" : ""), "data-testid": "editor-tab",
          "data-path": path, "data-dirty": String(dirty), title: path, onclick: function () { show(path); },
        }, [
          el("span", { text: path.split("/").pop() + (dirty ? " ●" : "") }),
          el("button", { "class": "close", "aria-label": "Close", text: "×", onclick: function (e) { e.stopPropagation(); closeTab(path); } }),
        ]));
      });
    }

    function loadFolder(folder) {
      return request("GET", "/workspace/entries?path=" + q(folder)).then(function (listing) {
        state.folders[folder] = listing.entries;
      });
    }
    function loadRoot() {
      return loadFolder("").then(function () { state.source = "sandbox"; }, function (err) {
        if (err.status !== 409) throw err;
        return request("GET", "/files").then(function (tree) {
          state.source = "branch";
          state.folders = foldersOf(tree.paths);
        });
      }).then(function () {
        pane.setAttribute("data-source", state.source);
        label.textContent = editable() ? "Live sandbox: Ctrl/Cmd+S saves" : "Pushed branch (read-only): start the sandbox to edit";
        newFile.disabled = newFolder.disabled = !editable();
        drawFiles();
      });
    }
    // Lists the root and every open folder again, after a change.
    function reload() {
      var folders = [""].concat(Object.keys(state.open));
      return Promise.all(folders.map(function (f) {
        return loadFolder(f).catch(function () { delete state.folders[f]; delete state.open[f]; });
      })).then(drawFiles);
    }

    function activate(entry) {
      if (entry.kind === "directory") {
        if (state.open[entry.path]) { delete state.open[entry.path]; drawFiles(); return; }
        var loaded = state.folders[entry.path] ? Promise.resolve() : loadFolder(entry.path);
        loaded.then(function () { state.open[entry.path] = true; drawFiles(); }, function (e) { say(true, e.message); });
      } else if (entry.kind === "file") {
        openFile(entry.path);
      } else {
        say(true, entry.path + " is a link or a special file; it is not opened.");
      }
    }

    function openFile(path) {
      if (models[path]) return show(path);
      if (!monaco) return say(true, "The editor is still loading.");
      var route = editable() ? "/workspace/file?path=" : "/file?path=";
      request("GET", route + q(path)).then(function (file) {
        if (typeof file.content !== "string" || file.truncated) return say(true, path + " is not a text file the editor opens.");
        var uri = monaco.Uri.file("/" + path);
        var existing = monaco.editor.getModel(uri);
        if (existing) existing.dispose();
        // Models live under file:/// URIs, so TypeScript and JavaScript resolve definitions
        // across the open files.
        var model = monaco.editor.createModel(file.content, undefined, uri);
        models[path] = { model: model, saved: model.getAlternativeVersionId() };
        if (state.tabs.indexOf(path) < 0) state.tabs.push(path);
        show(path);
      }, function (e) { say(true, e.message); });
    }
    function show(path) {
      var m = models[path];
      if (!m || !editor) return;
      state.active = path;
      editor.setModel(m.model);
      editor.updateOptions({ readOnly: !editable() });
      host.setAttribute("data-path", path);
      host.setAttribute("data-language", m.model.getLanguageId());
      drawTabs();
      editor.focus();
    }
    function closeTab(path) {
      var m = models[path];
      if (m) {
        if (editor && editor.getModel() === m.model) editor.setModel(null);
        m.model.dispose();
        delete models[path];
      }
      state.tabs = state.tabs.filter(function (t) { return t !== path; });
      delete state.dirty[path];
      if (state.active === path) {
        state.active = null;
        host.removeAttribute("data-path");
        if (state.tabs.length) return show(state.tabs[state.tabs.length - 1]);
      }
      drawTabs();
    }
    function save(path) {
      if (!editable()) return say(true, "The pushed branch is read-only; start the sandbox to edit.");
      var m = models[path], version = m.model.getAlternativeVersionId();
      request("PUT", "/workspace/file?path=" + q(path), m.model.getValue(), true).then(function () {
        m.saved = version;
        state.dirty[path] = m.model.getAlternativeVersionId() !== m.saved;
        drawTabs();
        say(false, "Saved " + path);
      }, function (e) { say(true, e.message); });
    }

    // File operations: a name to type (or a confirmation), then the API, then a reload.
    var LABELS = {
      "new-file": "New file", "new-folder": "New folder", rename: "Rename or move to", copy: "Copy to",
      "delete": "Delete", discard: "Discard the changes of",
    };
    function begin(op, entry) {
      hideMenu();
      if (!editable()) return;
      var target = "", value = "";
      if (op === "new-file" || op === "new-folder") {
        target = !entry ? "" : entry.kind === "directory" ? entry.path : parentOf(entry.path);
      } else if (entry) {
        target = entry.path;
        value = op === "copy" ? entry.path + ".copy" : entry.path;
      } else {
        return;
      }
      state.pending = { op: op, target: target };
      drawPending(value);
    }
    function drawPending(value) {
      pendingBox.textContent = "";
      var p = state.pending;
      if (!p) return;
      var confirmOnly = p.op === "delete" || p.op === "discard";
      var text = p.op === "delete" ? "Delete " + p.target + "?"
        : p.op === "discard" ? "Discard the changes of " + p.target + " (back to the last commit)?"
        : p.op === "new-file" || p.op === "new-folder" ? LABELS[p.op] + " in " + (p.target || "the root") + ":"
        : LABELS[p.op] + ":";
      var input = confirmOnly ? null : el("input", { "data-testid": "editor-name", value: value });
      var form = el("form", { "class": "editor-pending row", "data-testid": "editor-pending" }, [
        el("label", { text: text }), input,
        el("button", { type: "submit", "class": "btn" + (confirmOnly ? " danger" : ""), "data-testid": "editor-confirm", text: confirmOnly ? "Yes" : "OK" }),
        el("button", { type: "button", text: "Cancel", onclick: function () { state.pending = null; drawPending(); } }),
      ]);
      form.addEventListener("submit", function (e) { e.preventDefault(); run(p, input ? input.value : ""); });
      pendingBox.appendChild(form);
      if (input) input.focus();
    }
    function run(p, typed) {
      var name = typed.trim().replace(/^\/+|\/+$/g, "");
      if (!name && p.op !== "delete" && p.op !== "discard") return say(true, "Type a name first.");
      var calls = {
        "new-file": function () { return request("POST", "/workspace/files", { path: join(p.target, name), content: "" }); },
        "new-folder": function () { return request("POST", "/workspace/folders", { path: join(p.target, name) }); },
        rename: function () { return request("POST", "/workspace/moves", { from: p.target, to: name }); },
        copy: function () { return request("POST", "/workspace/copies", { from: p.target, to: name }); },
        "delete": function () { return request("DELETE", "/workspace/entries?path=" + q(p.target)); },
        discard: function () { return request("POST", "/workspace/discards", { path: p.target }); },
      };
      calls[p.op]().then(function () {
        state.pending = null;
        drawPending();
        if (p.op === "rename" || p.op === "delete" || p.op === "discard") {
          state.tabs.filter(function (t) { return t === p.target || t.indexOf(p.target + "/") === 0; }).forEach(closeTab);
        }
        say(false, LABELS[p.op] + ": done");
        return reload().then(function () { if (p.op === "new-file") openFile(join(p.target, name)); });
      }, function (e) { say(true, e.message); });
    }
    function showMenu(entry, x, y) {
      menu.textContent = "";
      [["new-file", "New file"], ["new-folder", "New folder"], ["rename", "Rename / move (F2)"], ["copy", "Copy"],
       ["delete", "Delete (Del)"], ["discard", "Discard changes"]].forEach(function (item) {
        menu.appendChild(el("button", { "data-testid": "menu-" + item[0], text: item[1], onclick: function (e) { e.stopPropagation(); begin(item[0], entry); } }));
      });
      menu.style.left = x + "px";
      menu.style.top = y + "px";
      menu.hidden = false;
    }
    // In the file browser: F2 renames or moves the selected entry, Delete deletes it.
    function onKey(e) {
      if (!state.selected || !editable() || state.pending) return;
      if (e.key === "F2") begin("rename", state.selected);
      else if (e.key === "Delete") begin("delete", state.selected);
      else if (e.key === "Enter") activate(state.selected);
      else return;
      e.preventDefault();
    }

    var unfollowTheme = followTheme();

    loadRoot().catch(function (e) { say(true, e.message); });
    loadMonaco().then(function (m) {
      if (disposed) return;
      monaco = m;
      editor = monaco.editor.create(host, {
        automaticLayout: true, minimap: { enabled: false }, fontSize: 13, model: null,
        // A plain textarea for input (not the EditContext API), as browsers and tests expect.
        editContext: false,
        theme: dark() ? "vs-dark" : "vs",
      });
      // Ctrl/Cmd+S saves the file shown, and only it.
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () { if (state.active) save(state.active); });
      editor.onDidChangeModelContent(function () {
        var path = state.active, m = path && models[path];
        if (!m) return;
        var dirty = m.model.getAlternativeVersionId() !== m.saved;
        if (dirty !== !!state.dirty[path]) { state.dirty[path] = dirty; drawTabs(); }
      });
      host.setAttribute("data-ready", "true");
    }, function (e) { say(true, "Monaco did not load: " + (e && e.message ? e.message : e)); });

    return {
      dispose: function () {
        disposed = true;
        document.removeEventListener("click", hideMenu);
        unfollowTheme();
        for (var p in models) models[p].model.dispose();
        if (editor) editor.dispose();
        root.textContent = "";
      },
    };
  }

  var diffs = 0;

  // Mounts Monaco's diff editor in `root`, read-only: `options.path` (its extension picks the
  // highlighting), `original` and `modified` (either may be empty, for an added or deleted
  // file), `sideBySide`. Unchanged stretches fold to a line that expands on a click.
  // Returns `{ dispose }`.
  function mountDiff(root, options) {
    var disposed = false, view = null, models = [], n = ++diffs;
    var host = el("div", { class: "diff-editor-host", "data-testid": "diff-editor" });
    root.appendChild(host);
    var unfollowTheme = followTheme();
    loadMonaco().then(function (monaco) {
      if (disposed) return;
      function model(side, text) {
        var uri = monaco.Uri.from({ scheme: "drydock-diff", path: "/" + n + "/" + side + "/" + options.path });
        return monaco.editor.createModel(text || "", undefined, uri);
      }
      models = [model("a", options.original), model("b", options.modified)];
      view = monaco.editor.createDiffEditor(host, {
        readOnly: true, originalEditable: false, automaticLayout: true, minimap: { enabled: false },
        fontSize: 13, scrollBeyondLastLine: false, editContext: false,
        renderSideBySide: !!options.sideBySide, useInlineViewWhenSpaceIsLimited: false,
        hideUnchangedRegions: { enabled: true, contextLineCount: 3, minimumLineCount: 3, revealLineCount: 20 },
        theme: dark() ? "vs-dark" : "vs",
      });
      view.setModel({ original: models[0], modified: models[1] });
      host.setAttribute("data-language", models[1].getLanguageId());
      host.setAttribute("data-ready", "true");
    }, function (e) {
      host.setAttribute("data-error", "true");
      host.textContent = "Monaco did not load: " + (e && e.message ? e.message : e);
    });
    return {
      dispose: function () {
        disposed = true;
        unfollowTheme();
        if (view) view.dispose();
        models.forEach(function (m) { m.dispose(); });
        root.textContent = "";
      },
    };
  }

  window.drydockEditor = { mount: mount, mountDiff: mountDiff };
})();
