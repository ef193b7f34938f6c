// ChatAssist chat monitor: each action on a chat is a call of the agent API (/api/agent/conversations/{id}/...).
// The page shows the API's own sentence when it refuses, keeps what was typed, and fetches the chat again (htmx)
// so a change made meanwhile (another agent claimed it) shows at once. Small and ours; htmx does the rest.
(function () {
  "use strict";
  var flashTimer = null;

  function flash(text, kind) {
    var box = document.getElementById("chat-flash");
    if (!box) return;
    clearTimeout(flashTimer);
    box.textContent = text; // the live region stays in the page (only emptied), so screen readers announce it
    box.className = "flash " + kind;
    if (kind === "ok") flashTimer = setTimeout(function () { box.textContent = ""; }, 6000);
  }

  function refresh() {
    var chat = document.getElementById("chat");
    if (chat && window.htmx) window.htmx.trigger(chat, "chat:refresh");
  }

  function payload(form) {
    var data = {}, any = false;
    new FormData(form).forEach(function (value, key) { data[key] = value; any = true; });
    return any ? JSON.stringify(data) : undefined;
  }

  function send(form, retried) {
    var body = payload(form);
    var headers = { "Accept": "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(form.getAttribute("action"), {
      method: form.dataset.method || "POST", credentials: "same-origin", headers: headers, body: body
    }).then(function (response) {
      if (response.status === 401 && !retried) { // the 15-minute session ran out: renew it once, then try again
        return fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" }).then(function (renewed) {
          return renewed.ok ? send(form, true) : response;
        });
      }
      return response;
    });
  }

  function submit(event) {
    var form = event.target.closest("form[data-agent-action]");
    if (!form) return;
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    // by id: a live refresh during the request moves the (preserved) textarea into the freshly rendered form
    var typed = form.querySelector("textarea[id]");
    var typedId = typed ? typed.id : null;
    send(form, false).then(function (response) {
      if (response.ok) {
        var text = typedId && document.getElementById(typedId);
        if (text) text.value = "";
        flash(form.dataset.ok || "Done.", "ok");
        refresh();
        return;
      }
      return response.json().catch(function () { return null; }).then(function (err) {
        var message = (err && err.message) || "The server refused this (" + response.status + "); please try again.";
        flash(message, "error");
        if (response.status === 409 || response.status === 404) refresh(); // show what changed meanwhile
      });
    }).catch(function () {
      flash("The server could not be reached; check your connection and try again.", "error");
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
      form.removeAttribute("aria-busy");
    });
  }

  function keydown(event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("form[data-agent-action]");
    if (form && event.target.tagName === "TEXTAREA") { event.preventDefault(); form.requestSubmit(); }
  }

  document.addEventListener("submit", submit);
  document.addEventListener("keydown", keydown);
})();
