/* ChatAssist widget: <script src="https://HOST/widget.js" data-widget-key="wk_..." async></script>
 * Plain JS, no dependencies. Renders inside a Shadow DOM so the host page's CSS cannot reach it.
 * All visitor, agent and model text goes into the DOM through textContent only. */
(function () {
  "use strict";
  if (window.ChatAssist) return; // the tag was included twice
  var script = document.currentScript || document.querySelector("script[data-widget-key]");
  if (!script) return;
  var cfg = script.dataset;
  var key = (cfg.widgetKey || "").trim();
  if (!key) { console.warn("ChatAssist: the script tag needs a data-widget-key attribute."); return; }
  var api = (cfg.apiBase || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var title = cfg.title || "Support";
  var color = cfg.color && window.CSS && CSS.supports("color", cfg.color) ? cfg.color : "#4f46e5";
  var CONV_KEY = "chatassist:conversation:" + key;
  var TOKEN_KEY = "chatassist:token:" + key; // the conversation's visitor token: the widget key alone opens nothing
  var OWNER_KEY = "chatassist:owner:" + key; // the user id the token was issued to
  var USER_KEY = "chatassist:user";

  var memory = {}; // storage can throw (privacy modes, sandboxed frames): fall back to this page's memory
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return memory[k] || null; } }
  function save(k, v) { try { localStorage.setItem(k, v); } catch (e) { memory[k] = v; } }
  function forget(k) { try { localStorage.removeItem(k); } catch (e) { delete memory[k]; } }
  function randomId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "anon_" + Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  var userId = cfg.userId || load(USER_KEY);
  if (!userId) { userId = randomId(); save(USER_KEY, userId); }
  var user = { id: userId, email: cfg.userEmail || null, name: cfg.userName || null };
  // identity verification: the customer's server signs the user id (docs/widget-security.md)
  if (cfg.userSignature && cfg.userId) user.signature = cfg.userSignature;
  function forgetConversation() { forget(CONV_KEY); forget(TOKEN_KEY); forget(OWNER_KEY); }
  (function checkIdentity() {
    if (!load(CONV_KEY)) return;
    var owner = load(OWNER_KEY);
    // No token (kept by an older widget) and no verified identity: that conversation cannot be opened any more.
    if (!load(TOKEN_KEY) && !user.signature) { forgetConversation(); return; }
    // Another identity on this browser. The widget's own anonymous visitor who signed in keeps the conversation
    // (its next message moves it to the new id and the server rotates the token); someone else's is forgotten.
    if (owner && owner !== user.id && owner.indexOf("anon_") !== 0) forgetConversation();
  })();

  var CSS_TEXT = [
    ":host{all:initial;position:fixed;right:20px;bottom:20px;z-index:2147483000;color-scheme:light;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111827}",
    "*{box-sizing:border-box}[hidden]{display:none!important}",
    // The page's own rules can still reach the host element and be inherited: reset on our top elements.
    ".panel,.launcher{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111827;",
    "letter-spacing:normal;text-transform:none;text-align:left;font-style:normal;text-shadow:none;visibility:visible}",
    "button{font:inherit;cursor:pointer}button:focus-visible,textarea:focus-visible{outline:2px solid var(--c);outline-offset:2px}",
    ".launcher{width:56px;height:56px;border-radius:50%;border:0;background:var(--c);color:#fff;display:grid;",
    "place-items:center;box-shadow:0 6px 20px rgba(0,0,0,.25);margin-left:auto}",
    ".launcher svg{width:26px;height:26px}",
    ".panel{position:absolute;right:0;bottom:72px;width:370px;max-width:calc(100vw - 40px);height:540px;",
    "max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);",
    "display:flex;flex-direction:column;overflow:hidden;border:1px solid #e5e7eb}",
    ".head{background:var(--c);color:#fff;padding:14px 16px;display:flex;align-items:center;gap:8px}",
    ".head h2{font-size:15px;font-weight:600;margin:0;flex:1}",
    ".close{background:transparent;border:0;color:#fff;font-size:22px;line-height:1;padding:2px 6px;border-radius:6px}",
    ".list{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}",
    ".row{display:flex;flex-direction:column;max-width:85%}.row.user{align-self:flex-end;align-items:flex-end}",
    ".row.assistant,.row.agent{align-self:flex-start}.row.system{align-self:center;max-width:95%}",
    ".bubble{padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".user .bubble{background:var(--c);color:#fff;border-bottom-right-radius:4px}",
    ".assistant .bubble{background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".agent .bubble{background:#ecfdf5;border:1px solid #a7f3d0;border-bottom-left-radius:4px}",
    ".agent .badge{color:#047857}",
    ".system .bubble{background:#fef3c7;color:#92400e;font-size:12.5px;text-align:center}",
    ".badge{display:inline-block;font-size:10px;font-weight:700;letter-spacing:.04em;color:var(--c);",
    "border:1px solid currentColor;border-radius:4px;padding:0 4px;margin-right:6px;vertical-align:1px}",
    ".note{font-size:11.5px;color:#6b7280;margin-top:3px}",
    ".sources{font-size:12px;color:#4b5563;margin-top:4px}.sources a{color:inherit;text-decoration:underline}",
    ".pending .text::after{content:'\u2026';animation:blink 1s infinite}@keyframes blink{50%{opacity:.2}}",
    ".empty{color:#6b7280;text-align:center;margin:auto 0;font-size:13px}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;font:inherit;",
    "color:inherit;height:40px;max-height:120px;background:#fff}",
    ".send{border:0;border-radius:8px;background:var(--c);color:#fff;padding:0 14px;font-weight:600}",
    ".send:disabled{opacity:.5;cursor:default}"
  ].join("");
  var ICON_CHAT = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';
  var ICON_CLOSE = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M6 6l12 12M18 6L6 18"/></svg>';

  var host = document.createElement("chatassist-widget"); // a custom tag: the page's `div` rules miss it
  host.style.cssText = "position:fixed!important;right:20px;bottom:20px;z-index:2147483000!important;display:block";
  host.style.setProperty("--c", color);
  var root = host.attachShadow({ mode: "open" });
  // Static markup only; every dynamic string is set below with textContent.
  root.innerHTML = '<section class="panel" role="dialog" hidden>' +
    '<header class="head"><h2></h2><button type="button" class="close" aria-label="Close chat">\u00d7</button></header>' +
    '<div class="list" role="log" aria-live="polite" aria-relevant="additions text"></div>' +
    '<form><textarea rows="1" placeholder="Type your question\u2026" aria-label="Your message"></textarea>' +
    '<button type="submit" class="send" aria-label="Send message">Send</button></form></section>' +
    '<button type="button" class="launcher" aria-label="Open support chat" aria-expanded="false"></button>';
  // A constructed stylesheet: a host page whose CSP forbids inline styles (no 'unsafe-inline') still styles us.
  if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" &&
      typeof CSSStyleSheet.prototype.replaceSync === "function") {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    root.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS_TEXT;
    root.insertBefore(style, root.firstChild);
  }
  var $ = function (sel) { return root.querySelector(sel); };
  var panel = $(".panel"), list = $(".list"), input = $("textarea"), sendBtn = $(".send");
  var launcher = $(".launcher"), form = $("form");
  panel.setAttribute("aria-label", title);
  $(".head h2").textContent = title;
  launcher.innerHTML = ICON_CHAT;

  var loaded = false, loading = false, busy = false;
  var humanNoticed = false;
  var shown = {}; // message ids already on screen (the transcript and the live stream may both carry one)
  var following = null; // { id, after, ctl }: the live stream of agent messages and state changes

  function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 60; }
  function scrollDown(force) { if (force || nearBottom()) list.scrollTop = list.scrollHeight; }
  function clearEmpty() { var e = list.querySelector(".empty"); if (e) e.remove(); }
  function addMessage(role, text, offline, agentName) {
    clearEmpty();
    var stick = nearBottom();
    var row = document.createElement("div");
    row.className = "row " + role;
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    if (role === "assistant") {
      var badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = "AI";
      badge.title = "Answered by an AI assistant";
      bubble.appendChild(badge);
    } else if (role === "agent") { // a person of the support team: their name, never "AI"
      var person = document.createElement("span");
      person.className = "badge";
      person.textContent = agentName || "Support team";
      person.title = "A person from the support team";
      bubble.appendChild(person);
    }
    var span = document.createElement("span");
    span.className = "text";
    span.textContent = text || "";
    bubble.appendChild(span);
    row.appendChild(bubble);
    list.appendChild(row);
    if (offline) markOffline(row);
    scrollDown(stick);
    return row;
  }
  function markOffline(row) {
    var note = document.createElement("div");
    note.className = "note";
    note.textContent = "Answered from help articles (offline mode)";
    row.appendChild(note);
  }
  // The help articles an answer cites, as links under it (a title alone when the article has no web address).
  function showSources(row, citations) {
    if (!citations || !citations.length) return;
    var box = document.createElement("div");
    box.className = "sources";
    box.appendChild(document.createTextNode("Sources: "));
    citations.forEach(function (c, i) {
      if (i) box.appendChild(document.createTextNode(", "));
      var url = typeof c.url === "string" && /^https?:\/\//i.test(c.url) ? c.url : null;
      var item = document.createElement(url ? "a" : "span");
      item.textContent = c.title || "Help article";
      if (url) { item.href = url; item.target = "_blank"; item.rel = "noopener noreferrer"; }
      box.appendChild(item);
    });
    row.appendChild(box);
  }
  function notice(text) { return addMessage("system", text); }
  function setBusy(b) { busy = b; sendBtn.disabled = b || loading; }

  function headers(extra) {
    var h = { "X-Widget-Key": key };
    if (user.signature) { h["X-User-Id"] = user.id; h["X-User-Signature"] = user.signature; }
    var token = load(TOKEN_KEY);
    if (token) h["X-Visitor-Token"] = token; // only ever the stored conversation's, sent to our own API
    return Object.assign(h, extra || {});
  }
  function refusedConversation(res, code) { // gone, or no longer this visitor's: start afresh
    return (res.status === 404 && code === "conversation_not_found") ||
      (res.status === 401 && code === "visitor_token_required") || (res.status === 403 && code === "invalid_visitor_token");
  }
  async function errorOf(res) {
    var body = null;
    try { body = await res.json(); } catch (e) { /* not JSON, e.g. from a proxy */ }
    return { code: (body && body.code) || "http_" + res.status,
             message: (body && body.message) || "Something went wrong (HTTP " + res.status + "). Please try again." };
  }

  async function loadTranscript() {
    var id = load(CONV_KEY);
    if (loaded || loading) return;
    if (!id) { loaded = true; return; }
    loading = true; setBusy(busy);
    try {
      // A just-finished conversation can take a moment to reach the read model: retry a 404 briefly.
      for (var attempt = 0; ; attempt++) {
        var res = await fetch(api + "/api/conversations/" + encodeURIComponent(id), { headers: headers() });
        if (res.status === 404 && attempt < 3) { await new Promise(function (r) { setTimeout(r, 400 << attempt); }); continue; }
        if (!res.ok) {
          var failed = await errorOf(res);
          if (refusedConversation(res, failed.code)) { forgetConversation(); loaded = true; return; }
          notice(failed.message);
          return;
        }
        var data = await res.json();
        (data.messages || []).forEach(function (m) {
          if (!m.text || ["user", "assistant", "agent", "system"].indexOf(m.role) < 0) return;
          if (m.message_id) shown[m.message_id] = true;
          var row = addMessage(m.role, m.text, m.role === "assistant" && m.provider === "offline", m.agent_name);
          if (m.role === "assistant") showSources(row, m.citations);
        });
        scrollDown(true);
        loaded = true;
        if (data.status !== "closed") follow(id, data.version || 0);
        return;
      }
    } catch (e) {
      notice("Could not load your earlier messages. Check your connection.");
    } finally {
      loading = false; setBusy(busy);
    }
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", "Close support chat");
    launcher.innerHTML = ICON_CLOSE;
    if (!list.children.length) {
      var empty = document.createElement("p");
      empty.className = "empty";
      empty.textContent = "Hi! Ask us anything.";
      list.appendChild(empty);
    }
    input.focus();
    loadTranscript();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", "Open support chat");
    launcher.innerHTML = ICON_CHAT;
    launcher.focus();
  }

  // Server-sent events: lines end in CRLF, LF or CR; a blank line dispatches; chunks may split anywhere.
  async function readEvents(body, onEvent) {
    var reader = body.getReader(), decoder = new TextDecoder(), buf = "", name = "", data = [], id = null;
    function line(l) {
      if (l === "") {
        if (data.length) onEvent(name || "message", data.join("\n"), id);
        name = ""; data = []; id = null;
        return;
      }
      if (l.charAt(0) === ":") return;
      var i = l.indexOf(":"), field = i < 0 ? l : l.slice(0, i), value = i < 0 ? "" : l.slice(i + 1);
      if (value.charAt(0) === " ") value = value.slice(1);
      if (field === "event") name = value; else if (field === "data") data.push(value); else if (field === "id") id = value;
    }
    for (;;) {
      var chunk = await reader.read();
      buf += chunk.done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      var m;
      while ((m = /\r\n|\r|\n/.exec(buf))) {
        if (m[0] === "\r" && m.index === buf.length - 1 && !chunk.done) break; // maybe half of a CRLF
        line(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
      }
      if (chunk.done) { if (buf) line(buf); line(""); return; }
    }
  }

  // The live stream (GET /api/conversations/{id}/events): what people do in this conversation. It resumes after the
  // last event id it saw, so a dropped connection loses nothing; it ends when the conversation is closed.
  var NOTICES = {
    claimed: function (d) { return ((d.agent && d.agent.name) || "A person from our team") + " joined the chat."; },
    returned_to_ai: function () { return "You are chatting with the AI assistant again."; },
    closed: function (d) { return d.by === "agent" ? "Our team closed this conversation." : null; }
  };
  function onStreamEvent(event, d) {
    if (event === "agent_message") {
      if (d.message_id && shown[d.message_id]) return;
      if (d.message_id) shown[d.message_id] = true;
      addMessage("agent", d.text, false, d.agent && d.agent.name);
    } else if (event === "state") {
      if (d.event === "returned_to_ai") humanNoticed = false;
      var say = NOTICES[d.event] && NOTICES[d.event](d);
      if (say) notice(say);
      if (d.state === "closed") stopFollowing(); // the next message gets 409 and starts a new conversation
    }
  }
  function stopFollowing() { if (following) { following.ctl.abort(); following = null; } }
  function follow(id, after) {
    if (following && following.id === id) return;
    stopFollowing();
    var me = following = { id: id, after: after || 0, ctl: new AbortController() };
    (async function () {
      var delay = 1000;
      while (following === me) {
        try {
          var res = await fetch(api + "/api/conversations/" + encodeURIComponent(id) + "/events?after=" + me.after,
                                { headers: headers({ "Accept": "text/event-stream" }), signal: me.ctl.signal });
          if (res.status >= 400 && res.status < 500) { if (following === me) following = null; return; }
          if (res.ok) {
            delay = 1000;
            await readEvents(res.body, function (event, raw, eventId) {
              if (following !== me) return;
              if (eventId && Number(eventId) > me.after) me.after = Number(eventId);
              var d;
              try { d = JSON.parse(raw); } catch (e) { return; }
              onStreamEvent(event, d);
            });
          }
        } catch (e) {
          if (me.ctl.signal.aborted) return;
        }
        if (following !== me) return;
        await new Promise(function (r) { setTimeout(r, delay); });
        delay = Math.min(delay * 2, 15000);
      }
    })();
  }

  async function send() {
    var message = input.value.trim();
    if (!message || busy || loading) return;
    setBusy(true);
    input.value = "";
    addMessage("user", message);
    scrollDown(true);
    var row = addMessage("assistant", "");
    row.classList.add("pending");
    var text = row.querySelector(".text"), finished = false;
    function drop() { if (!text.textContent) row.remove(); }
    try {
      var res = await fetch(api + "/api/chat", {
        method: "POST",
        headers: headers({ "Content-Type": "application/json", "Accept": "text/event-stream" }),
        body: JSON.stringify({ message: message, conversation_id: load(CONV_KEY), user: user })
      });
      if (!res.ok) {
        var err = await errorOf(res);
        drop();
        if (refusedConversation(res, err.code) || (res.status === 409 && err.code === "conversation_closed")) {
          forgetConversation();
          notice("This conversation has ended. Send your message again to start a new one.");
          if (!input.value) input.value = message;
        } else {
          notice(err.message);
        }
        finished = true;
        return;
      }
      await readEvents(res.body, function (event, raw) {
        var d;
        try { d = JSON.parse(raw); } catch (e) { return; }
        var stick = nearBottom();
        if (event === "start" && d.conversation_id) {
          save(CONV_KEY, d.conversation_id);
          // a new conversation's token, or a new one after an identity change (the old one no longer works)
          if (d.visitor_token) { save(TOKEN_KEY, d.visitor_token); save(OWNER_KEY, user.id); }
          follow(d.conversation_id, 0);
        } else if (event === "delta") {
          row.classList.remove("pending");
          text.textContent += d.text || "";
        } else if (event === "restart") {
          text.textContent = "";
          row.classList.add("pending");
        } else if (event === "done") {
          finished = true;
          row.classList.remove("pending");
          if (d.handled_by === "human") { // a person has the chat: no AI answer; theirs arrives on the live stream
            drop();
            if (!humanNoticed) { humanNoticed = true; notice("A person from our team will answer you here."); }
          }
          if (d.offline) markOffline(row);
          showSources(row, d.citations);
        } else if (event === "error") {
          finished = true;
          drop();
          notice(d.message || "The assistant could not answer. Please try again.");
        }
        scrollDown(stick);
      });
      if (!finished) { row.classList.remove("pending"); notice("The answer was interrupted. Please try again."); }
    } catch (e) {
      row.classList.remove("pending");
      drop();
      notice("Could not reach support. Check your connection and try again.");
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  $(".close").addEventListener("click", close);
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.ChatAssist = { open: open, close: close };
})();
