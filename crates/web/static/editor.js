// Drydock's web editor: Monaco on the files of a task's live sandbox (docs/workspace.md).
// Loaded on demand by the Editor tab, after Monaco's AMD loader, so the first page load does
// not pay for it. Exposes one object, `drydockEditor`, whose `load()` resolves once Monaco is
// ready and whose `create(element, onSave, onDirty)` returns an editor handle.
"use strict";
(function () {
  var loading = null;

  // Loads Monaco from /monaco/vs (copied there by the web build; never a CDN).
  function load() {
    if (loading) return loading;
    loading = new Promise(function (resolve, reject) {
      if (!window.require || !window.require.config) {
        reject(new Error("Monaco's loader is missing"));
        return;
      }
      window.require.config({ paths: { vs: "/monaco/vs" } });
      window.require(["vs/editor/editor.main"], function () { resolve(window.monaco); }, reject);
    });
    return loading;
  }

  // Whether the app shows its dark theme: `data-theme` on <html>, or the system's when
  // it says "system" (see theme.rs).
  function dark() {
    var t = document.documentElement.getAttribute("data-theme");
    if (t === "dark") return true;
    if (t === "light") return false;
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function create(element, onSave, onDirty) {
    var monaco = window.monaco;
    var models = {}; // path -> { model, saved (version id at the last save) }
    var editor = monaco.editor.create(element, {
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      theme: dark() ? "vs-dark" : "vs",
      model: null,
    });
    function applyTheme() { monaco.editor.setTheme(dark() ? "vs-dark" : "vs"); }
    var observer = new MutationObserver(applyTheme);
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    if (media && media.addEventListener) media.addEventListener("change", applyTheme);

    function current() {
      var model = editor.getModel();
      if (!model) return null;
      for (var p in models) if (models[p].model === model) return p;
      return null;
    }
    function dirty(path) {
      var m = models[path];
      return !!m && m.model.getAlternativeVersionId() !== m.saved;
    }
    // Ctrl/Cmd+S saves the file shown, and only it.
    editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, function () {
      var path = current();
      if (path) onSave(path, models[path].model.getValue());
    });
    editor.onDidChangeModelContent(function () {
      var path = current();
      if (path) {
        element.setAttribute("data-dirty", dirty(path) ? "true" : "false");
        onDirty(path, dirty(path));
      }
    });

    return {
      // Shows `path`, making its model from `content` the first time. Models live under
      // file:/// URIs, so TypeScript and JavaScript resolve definitions across open files.
      open: function (path, content, readOnly) {
        var m = models[path];
        if (!m) {
          var uri = monaco.Uri.file("/" + path);
          var model = monaco.editor.getModel(uri) || monaco.editor.createModel(content, undefined, uri);
          m = models[path] = { model: model, saved: model.getAlternativeVersionId() };
        }
        editor.setModel(m.model);
        editor.updateOptions({ readOnly: !!readOnly });
        element.setAttribute("data-path", path);
        element.setAttribute("data-language", m.model.getLanguageId());
        element.setAttribute("data-dirty", dirty(path) ? "true" : "false");
        editor.focus();
      },
      // The file was saved with this content: it is clean again.
      saved: function (path) {
        var m = models[path];
        if (m) m.saved = m.model.getAlternativeVersionId();
        if (current() === path) element.setAttribute("data-dirty", "false");
        onDirty(path, false);
      },
      // Forgets a file (its tab closed, or it was moved or deleted).
      close: function (path) {
        var m = models[path];
        if (!m) return;
        if (editor.getModel() === m.model) editor.setModel(null);
        m.model.dispose();
        delete models[path];
      },
      value: function (path) { return models[path] ? models[path].model.getValue() : null; },
      dispose: function () {
        observer.disconnect();
        if (media && media.removeEventListener) media.removeEventListener("change", applyTheme);
        for (var p in models) models[p].model.dispose();
        editor.dispose();
      },
    };
  }

  window.drydockEditor = { load: load, create: create };
})();
