// Drydock's web terminal: xterm.js on the task terminal's WebSocket (docs/terminal.md).
// Loaded on demand by the Terminal tab, after xterm.js and its fit addon, so the first page
// load does not pay for it. Exposes one function, `drydockTerminal.open`.
"use strict";
(function () {
  var MAX_RETRIES = 5;

  // Opens a terminal in `element`. `connect(sessionId)` resolves to the WebSocket URL to use
  // (a fresh one-time token each time; `sessionId` is null for a new shell, else the session
  // to reattach to). `onState(state)` hears "connecting", "open", "reconnecting", "exited" and
  // "closed". Returns `{ close() }`.
  function open(element, connect, onState) {
    var term = new window.Terminal({
      cursorBlink: true,
      scrollback: 5000,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      fontSize: 13,
    });
    var fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();

    // Ctrl+Shift+C copies the selection and Ctrl+Shift+V pastes, as desktop terminals do;
    // every other key (arrows for history, Tab for completion, Enter, Ctrl+C) goes to the shell.
    term.attachCustomKeyEventHandler(function (e) {
      if (e.type !== "keydown" || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === "KeyC") {
        var text = term.getSelection();
        if (text && navigator.clipboard) navigator.clipboard.writeText(text);
        return false;
      }
      if (e.code === "KeyV") {
        if (navigator.clipboard) navigator.clipboard.readText().then(function (t) { term.paste(t); });
        return false;
      }
      return true;
    });

    var socket = null;
    var session = null;
    var state = "";
    var retries = 0;
    var finished = false;

    // The size the shell was told, for tests and for people wondering.
    function showSize() {
      element.setAttribute("data-size", term.rows + " " + term.cols);
    }

    function setState(next) {
      state = next;
      element.setAttribute("data-state", next);
      onState(next);
    }

    function send(message) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    }

    function attach() {
      setState(session ? "reconnecting" : "connecting");
      Promise.resolve(connect(session)).then(function (url) {
        if (finished) return;
        url += (url.indexOf("?") < 0 ? "?" : "&") + "cols=" + term.cols + "&rows=" + term.rows;
        var ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        socket = ws;
        ws.onmessage = function (event) {
          if (typeof event.data !== "string") {
            term.write(new Uint8Array(event.data));
            return;
          }
          var message = JSON.parse(event.data);
          if (message.type === "session") {
            if (message.reattached) term.reset();
            session = message.id;
            element.setAttribute("data-session", session);
            retries = 0;
            setState("open");
            // A reattached shell may have another size than this window.
            send({ type: "resize", cols: term.cols, rows: term.rows });
          } else if (message.type === "exit") {
            finished = true;
            setState("exited");
          }
        };
        ws.onclose = function (event) {
          if (socket !== ws) return;
          socket = null;
          // Displaced by another tab, or the shell is gone: do not fight over it.
          if (finished || event.code === 1008 || event.code === 1000) {
            finished = true;
            if (state !== "exited") setState("closed");
            return;
          }
          if (retries >= MAX_RETRIES) {
            setState("closed");
            return;
          }
          retries += 1;
          setTimeout(attach, 250 * Math.pow(2, retries));
        };
      }, function () {
        setState("closed");
      });
    }

    term.onData(function (data) { send({ type: "input", data: data }); });
    term.onResize(function (size) {
      showSize();
      send({ type: "resize", cols: size.cols, rows: size.rows });
    });
    showSize();
    var observer = new ResizeObserver(function () { fit.fit(); });
    observer.observe(element);
    attach();
    term.focus();

    return {
      close: function () {
        finished = true;
        observer.disconnect();
        if (socket) socket.close(1000);
        socket = null;
        term.dispose();
      },
    };
  }

  window.drydockTerminal = { open: open };
})();
