/* ChatAssist widget: <script src="https://HOST/widget.js" data-widget-key="wk_..." async></script>
 * Plain JS, no dependencies. Renders inside a Shadow DOM so the host page's CSS cannot reach it.
 * All visitor, agent and model text goes into the DOM through textContent only. Its look, words and switches come
 * from the workspace's settings (GET /api/widget/config); English and the default colour until they arrive. */
(function () {
  "use strict";
  if (window.ChatAssist) return; // the tag was included twice
  var script = document.currentScript || document.querySelector("script[data-widget-key]");
  if (!script) return;
  var cfg = script.dataset;
  var key = (cfg.widgetKey || "").trim();
  if (!key) { console.warn("ChatAssist: the script tag needs a data-widget-key attribute."); return; }
  var api = (cfg.apiBase || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  function validColor(c) { return c && window.CSS && CSS.supports("color", c) ? c : null; }
  var pageColor = validColor(cfg.color); // the page's data-color wins over the settings' theme colour
  var CONV_KEY = "chatassist:conversation:" + key;
  var TOKEN_KEY = "chatassist:token:" + key; // the conversation's visitor token: the widget key alone opens nothing
  var OWNER_KEY = "chatassist:owner:" + key; // the user id the token was issued to
  var USER_KEY = "chatassist:user";
  // English until the workspace's language arrives (web/widget_strings.py has every language)
  var S = {
    title: "AI Support Assistant", greeting: "Hi! I am your AI support assistant. How can I help you today?",
    ai: "AI Assistant", you: "You", team: "Support team", placeholder: "Type your question\u2026", send: "Send",
    open: "Open support chat", close: "Close chat", end: "End chat", typing: "The assistant is typing",
    escalated: "A person from our team will take over this chat.",
    offer: "Would you rather talk to a person? Just ask and we will connect you.",
    human: "A person from our team will answer you here.", joined: "{name} joined the chat.",
    returned: "You are chatting with the AI assistant again.", agent_closed: "Our team closed this conversation.",
    ended: "This conversation has ended. Send your message again to start a new one.",
    rate: "How would you rate this conversation?", thanks: "Thank you for your feedback!", star: "{n} of 5 stars",
    powered: "Powered by {model}", offline: "Answered from help articles (offline mode)", sources: "Sources: ",
    message: "Your message", send_label: "Send message"
  };
  var settings = { language: "en", collect_csat: true, quick_replies: [], show_ai_badge: false, after_hours: {} };

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
    ".panel{position:absolute;right:0;bottom:72px;width:370px;max-width:calc(100vw - 40px);height:560px;",
    "max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.22);",
    "display:flex;flex-direction:column;overflow:hidden;border:1px solid #e5e7eb}",
    ".head{background:var(--c);color:#fff;padding:12px 12px 12px 16px;display:flex;align-items:center;gap:6px}",
    ".head h2{font-size:15px;font-weight:600;margin:0;flex:1}",
    ".head button{background:transparent;border:0;color:#fff;border-radius:6px}",
    ".close{font-size:22px;line-height:1;padding:2px 6px}",
    ".end{font-size:12px;padding:4px 8px;border:1px solid rgba(255,255,255,.6)!important}",
    ".list{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}",
    ".row,.intro{display:flex;flex-direction:column;max-width:85%}.row.user{align-self:flex-end;align-items:flex-end}",
    ".row.assistant,.row.agent,.intro{align-self:flex-start}.row.system{align-self:center;max-width:95%}",
    ".meta{display:flex;gap:6px;align-items:baseline;font-size:11.5px;color:#6b7280;margin:0 4px 3px}",
    ".who{font-weight:600;color:#374151}.agent .who{color:#047857}",
    ".bubble{padding:9px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".user .bubble{background:var(--c);color:#fff;border-bottom-right-radius:4px}",
    ".assistant .bubble,.intro .bubble{background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".agent .bubble{background:#ecfdf5;border:1px solid #a7f3d0;border-bottom-left-radius:4px}",
    ".system .bubble{background:#fef3c7;color:#92400e;font-size:12.5px;text-align:center}",
    ".note{font-size:11.5px;color:#6b7280;margin-top:3px}",
    ".sources{font-size:12px;color:#4b5563;margin-top:4px}.sources a{color:inherit;text-decoration:underline}",
    ".typing{display:inline-flex;gap:4px;padding:3px 0}.typing i{width:7px;height:7px;border-radius:50%;",
    "background:#9ca3af;animation:dot 1.2s infinite}.typing i:nth-child(2){animation-delay:.2s}",
    ".typing i:nth-child(3){animation-delay:.4s}@keyframes dot{0%,60%,100%{opacity:.3;transform:none}",
    "30%{opacity:1;transform:translateY(-3px)}}",
    ".chips{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".chips button{border:1px solid var(--c);color:var(--c);background:#fff;border-radius:999px;padding:5px 11px;",
    "font-size:13px}.chips button:hover{background:#f3f4f6}",
    ".csat{align-self:stretch;background:#fff;border:1px solid #e5e7eb;border-radius:12px;padding:10px;text-align:center}",
    ".csat p{margin:0 0 6px;font-size:13px}.stars{display:flex;justify-content:center;gap:2px}",
    ".stars button{border:0;background:transparent;font-size:26px;line-height:1;color:#d1d5db;padding:0 2px}",
    ".stars button:hover,.stars button.on,.stars button:focus-visible{color:#f59e0b}",
    "form{display:flex;gap:8px;padding:10px 10px 6px;border-top:1px solid #e5e7eb;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;font:inherit;",
    "color:inherit;height:40px;max-height:120px;background:#fff}",
    ".send{border:0;border-radius:8px;background:var(--c);color:#fff;padding:0 14px;font-weight:600}",
    ".send:disabled{opacity:.5;cursor:default}",
    ".powered{font-size:11px;color:#6b7280;text-align:center;padding:0 10px 8px;background:#fff}"
  ].join("");
  var ICON_CHAT = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z"/></svg>';
  var ICON_CLOSE = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">' +
    '<path d="M6 6l12 12M18 6L6 18"/></svg>';

  var host = document.createElement("chatassist-widget"); // a custom tag: the page's `div` rules miss it
  host.style.cssText = "position:fixed!important;right:20px;bottom:20px;z-index:2147483000!important;display:block";
  host.style.setProperty("--c", pageColor || "#4f46e5");
  var root = host.attachShadow({ mode: "open" });
  // Static markup only; every dynamic string is set below with textContent.
  root.innerHTML = '<section class="panel" role="dialog" hidden>' +
    '<header class="head"><h2></h2><button type="button" class="end" hidden></button>' +
    '<button type="button" class="close">\u00d7</button></header>' +
    '<div class="list" role="log" aria-live="polite" aria-relevant="additions text"></div>' +
    '<form><textarea rows="1"></textarea><button type="submit" class="send"></button></form>' +
    '<div class="powered" hidden></div></section>' +
    '<button type="button" class="launcher" aria-expanded="false"></button>';
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
  var launcher = $(".launcher"), form = $("form"), endBtn = $(".end"), powered = $(".powered");
  launcher.innerHTML = ICON_CHAT;
  function fill(text, values) { return String(text).replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; }); }
  function applyWords() {
    var title = cfg.title || S.title;
    panel.setAttribute("aria-label", title);
    panel.lang = settings.language;
    $(".head h2").textContent = title;
    $(".close").setAttribute("aria-label", S.close);
    endBtn.textContent = S.end;
    input.placeholder = S.placeholder;
    input.setAttribute("aria-label", S.message);
    sendBtn.textContent = S.send;
    sendBtn.setAttribute("aria-label", S.send_label);
    launcher.setAttribute("aria-label", panel.hidden ? S.open : S.close);
    powered.hidden = !(settings.show_ai_badge && settings.powered_by);
    powered.textContent = settings.powered_by ? fill(S.powered, { model: settings.powered_by }) : "";
  }
  applyWords();

  var loaded = false, loading = false, busy = false, greeted = false;
  var humanNoticed = false;
  var shown = {}; // message ids already on screen (the transcript and the live stream may both carry one)
  var following = null; // { id, after, ctl }: the live stream of agent messages and state changes
  var timeFormat = null;
  function clock(at) {
    var when = at ? new Date(at) : new Date();
    if (isNaN(when.getTime())) return "";
    try {
      timeFormat = timeFormat || new Intl.DateTimeFormat(settings.language, { hour: "numeric", minute: "2-digit" });
      return timeFormat.format(when);
    } catch (e) { return when.toTimeString().slice(0, 5); }
  }

  function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 60; }
  function scrollDown(force) { if (force || nearBottom()) list.scrollTop = list.scrollHeight; }
  function clearChips() { var c = list.querySelector(".chips"); if (c) c.remove(); }
  function element(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }
  // One message: who said it and when above the bubble ("AI Assistant", "You", the agent's first name).
  function addMessage(role, text, offline, agentName, at) {
    clearChips();
    var stick = nearBottom();
    var row = element("div", role === "intro" ? "intro" : "row " + role);
    if (role !== "system") {
      var meta = element("div", "meta");
      var who = role === "user" ? S.you : role === "agent" ? (agentName || S.team) : S.ai;
      meta.appendChild(element("span", "who", who));
      var time = element("time", "", clock(at));
      if (at) time.dateTime = at;
      meta.appendChild(time);
      row.appendChild(meta);
    }
    var bubble = element("div", "bubble");
    bubble.appendChild(element("span", "text", text || ""));
    row.appendChild(bubble);
    list.appendChild(row);
    if (offline) markOffline(row);
    scrollDown(stick);
    return row;
  }
  function markOffline(row) { row.appendChild(element("div", "note", S.offline)); }
  // The help articles an answer cites, as links under it (a title alone when the article has no web address).
  function showSources(row, citations) {
    if (!citations || !citations.length) return;
    var box = element("div", "sources");
    box.appendChild(document.createTextNode(S.sources));
    citations.forEach(function (c, i) {
      if (i) box.appendChild(document.createTextNode(", "));
      var url = typeof c.url === "string" && /^https?:\/\//i.test(c.url) ? c.url : null;
      var item = element(url ? "a" : "span", "", c.title || "Help article");
      if (url) { item.href = url; item.target = "_blank"; item.rel = "noopener noreferrer"; }
      box.appendChild(item);
    });
    row.appendChild(box);
  }
  function notice(text) { return addMessage("system", text); }
  function setBusy(b) { busy = b; sendBtn.disabled = b || loading; }
  function typing(row, on) {
    var dots = row.querySelector(".typing");
    if (on && !dots) {
      dots = element("span", "typing");
      dots.setAttribute("role", "img");
      dots.setAttribute("aria-label", S.typing);
      dots.innerHTML = "<i></i><i></i><i></i>";
      row.querySelector(".bubble").insertBefore(dots, row.querySelector(".text"));
    } else if (!on && dots) dots.remove();
  }

  // The greeting and the quick-reply chips, while the visitor has not written yet.
  function greet() {
    if (greeted || list.querySelector(".row")) return;
    greeted = true;
    addMessage("intro", S.greeting);
    var away = settings.after_hours || {};
    if (away.away && away.message) notice(away.message);
    var replies = settings.quick_replies || [];
    if (!replies.length) return;
    var chips = element("div", "chips");
    replies.forEach(function (text) {
      var chip = element("button", "", text);
      chip.type = "button";
      chip.addEventListener("click", function () { if (!busy && !loading) { input.value = text; send(); } });
      chips.appendChild(chip);
    });
    list.appendChild(chips);
  }

  function headers(extra, token) {
    var h = { "X-Widget-Key": key };
    if (user.signature) { h["X-User-Id"] = user.id; h["X-User-Signature"] = user.signature; }
    token = token || load(TOKEN_KEY);
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

  // The workspace's settings: colour, language and words, chips, badge, CSAT, after hours. Fetched once.
  var configured = (async function () {
    try {
      var res = await fetch(api + "/api/widget/config", { headers: { "X-Widget-Key": key } });
      if (!res.ok) return;
      var c = await res.json();
      settings = c;
      Object.assign(S, c.strings || {});
      timeFormat = null;
      if (!pageColor && validColor(c.theme_colour)) host.style.setProperty("--c", c.theme_colour);
      applyWords();
    } catch (e) { /* offline or refused: the defaults stay */ }
  })();

  async function loadTranscript() {
    var id = load(CONV_KEY);
    if (loaded || loading) return;
    if (!id) { loaded = true; greet(); return; }
    loading = true; setBusy(busy);
    try {
      // A just-finished conversation can take a moment to reach the read model: retry a 404 briefly.
      for (var attempt = 0; ; attempt++) {
        var res = await fetch(api + "/api/conversations/" + encodeURIComponent(id), { headers: headers() });
        if (res.status === 404 && attempt < 3) { await new Promise(function (r) { setTimeout(r, 400 << attempt); }); continue; }
        if (!res.ok) {
          var failed = await errorOf(res);
          if (refusedConversation(res, failed.code)) { forgetConversation(); loaded = true; greet(); return; }
          notice(failed.message);
          return;
        }
        var data = await res.json();
        (data.messages || []).forEach(function (m) {
          if (!m.text || ["user", "assistant", "agent", "system"].indexOf(m.role) < 0) return;
          if (m.message_id) shown[m.message_id] = true;
          var row = addMessage(m.role, m.text, m.role === "assistant" && m.provider === "offline", m.agent_name, m.at);
          if (m.role === "assistant") showSources(row, m.citations);
        });
        scrollDown(true);
        loaded = true;
        if (data.status !== "closed") { follow(id, data.version || 0); endBtn.hidden = false; }
        return;
      }
    } catch (e) {
      notice("Could not load your earlier messages. Check your connection.");
    } finally {
      loading = false; setBusy(busy);
    }
  }

  async function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", S.close);
    launcher.innerHTML = ICON_CLOSE;
    input.focus();
    await configured;
    loadTranscript();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", S.open);
    launcher.innerHTML = ICON_CHAT;
    launcher.focus();
  }

  // Post-chat rating: five stars, once per conversation, when the workspace collects ratings.
  function askRating(id, token) {
    if (!settings.collect_csat || !id || list.querySelector(".csat")) return;
    var card = element("div", "csat");
    card.appendChild(element("p", "", S.rate));
    var stars = element("div", "stars");
    stars.setAttribute("role", "group");
    stars.setAttribute("aria-label", S.rate);
    for (var n = 1; n <= 5; n++) {
      (function (score) {
        var star = element("button", "", "\u2605");
        star.type = "button";
        star.setAttribute("aria-label", fill(S.star, { n: score }));
        star.addEventListener("click", async function () {
          Array.prototype.forEach.call(stars.children, function (s, i) { s.classList.toggle("on", i < score); s.disabled = true; });
          try {
            var res = await fetch(api + "/api/conversations/" + encodeURIComponent(id) + "/csat", {
              method: "POST", headers: headers({ "Content-Type": "application/json" }, token),
              body: JSON.stringify({ score: score })
            });
            card.replaceChildren(element("p", "", res.ok ? S.thanks : (await errorOf(res)).message));
          } catch (e) { card.replaceChildren(element("p", "", "Could not send your rating. Check your connection.")); }
        });
        stars.appendChild(star);
      })(n);
    }
    card.appendChild(stars);
    list.appendChild(card);
    scrollDown(true);
  }
  // The visitor ends the chat: it is closed, forgotten (the next message starts a new one), then rated.
  async function endChat() {
    var id = load(CONV_KEY), token = load(TOKEN_KEY);
    if (!id || busy) return;
    endBtn.hidden = true;
    stopFollowing();
    try {
      var res = await fetch(api + "/api/conversations/" + encodeURIComponent(id) + "/close",
                            { method: "POST", headers: headers({}, token) });
      if (!res.ok && !refusedConversation(res, (await errorOf(res)).code)) { endBtn.hidden = false; return; }
    } catch (e) { endBtn.hidden = false; return; }
    forgetConversation();
    askRating(id, token);
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
    claimed: function (d) { return fill(S.joined, { name: (d.agent && d.agent.name) || S.team }); },
    returned_to_ai: function () { return S.returned; },
    escalation_recalled: function () { return S.returned; }, // an agent recalled a wrong escalation: the AI again
    closed: function (d) { return d.by === "agent" ? S.agent_closed : null; }
  };
  function onStreamEvent(event, d, id) {
    if (event === "agent_message") {
      if (d.message_id && shown[d.message_id]) return;
      if (d.message_id) shown[d.message_id] = true;
      addMessage("agent", d.text, false, d.agent && d.agent.name, d.at);
    } else if (event === "state") {
      if (d.event === "returned_to_ai" || d.event === "escalation_recalled") humanNoticed = false;
      var say = NOTICES[d.event] && NOTICES[d.event](d);
      if (say) notice(say);
      if ((d.state === "closed" || d.state === "resolved") && d.by === "agent") askRating(id, load(TOKEN_KEY));
      if (d.state === "closed") { stopFollowing(); endBtn.hidden = true; } // the next message gets 409: a new one
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
              onStreamEvent(event, d, id);
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
    var rating = list.querySelector(".csat");
    if (rating) rating.remove();
    addMessage("user", message);
    scrollDown(true);
    var row = addMessage("assistant", "");
    typing(row, true);
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
          endBtn.hidden = true;
          notice(S.ended);
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
          endBtn.hidden = false;
          follow(d.conversation_id, 0);
        } else if (event === "delta") {
          typing(row, false);
          text.textContent += d.text || "";
        } else if (event === "restart") {
          text.textContent = "";
          typing(row, true);
        } else if (event === "done") {
          finished = true;
          typing(row, false);
          if (d.handled_by === "human") { // a person has the chat: no AI answer; theirs arrives on the live stream
            drop();
            if (!humanNoticed) { humanNoticed = true; notice(S.human); }
          }
          if (d.offline) markOffline(row);
          showSources(row, d.citations);
          var esc = d.escalation;
          if (esc && esc.action === "escalate" && !humanNoticed) { humanNoticed = true; notice(S.escalated); }
          else if (esc && esc.action === "offer") notice(S.offer);
        } else if (event === "error") {
          finished = true;
          drop();
          notice(d.message || "The assistant could not answer. Please try again.");
        }
        scrollDown(stick);
      });
      if (!finished) { typing(row, false); drop(); notice("The answer was interrupted. Please try again."); }
    } catch (e) {
      typing(row, false);
      drop();
      notice("Could not reach support. Check your connection and try again.");
    } finally {
      setBusy(false);
      input.focus();
    }
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  $(".close").addEventListener("click", close);
  endBtn.addEventListener("click", endChat);
  form.addEventListener("submit", function (e) { e.preventDefault(); send(); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
  });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.ChatAssist = { open: open, close: close };
})();
