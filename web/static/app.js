// ChatAssist dashboard: the forms that post to the JSON API, the copy button. Small and ours; htmx does the rest.
(function () {
  "use strict";
  // Which field an API error code concerns (otherwise: the field the sentence names, else the whole form).
  var CODE_FIELDS = {
    invalid_email: ["email"], email_taken: ["email"], invalid_name: ["name", "workspace_name"],
    weak_password: ["password", "new_password"], invalid_credentials: ["password"], not_a_member: ["email"]
  };

  function slot(form, name) { return form.querySelector('[data-error-for="' + name + '"]'); }

  function clear(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function show(form, body) {
    var message = (body && body.message) || "Something went wrong; please try again.";
    var names = CODE_FIELDS[body && body.code] || [];
    var named = /field `([a-z_]+)`/.exec(message);
    if (named) names = [named[1]].concat(names);
    for (var i = 0; i < names.length; i++) {
      var input = form.querySelector('[name="' + names[i] + '"]');
      if (input && input.type !== "hidden" && slot(form, names[i])) {
        slot(form, names[i]).textContent = message;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
    }
    slot(form, "_form").textContent = message;
  }

  function body(form) {
    var data = {}, any = false;
    new FormData(form).forEach(function (value, key) {
      var input = form.querySelector('[name="' + key + '"]');
      if (value === "" && input && !input.required) return; // optional and empty: not sent
      data[key] = value; any = true;
    });
    return any ? JSON.stringify(data) : undefined;
  }

  function submit(event) {
    var form = event.target.closest("form[data-next], form[data-done]");
    if (!form) return;
    event.preventDefault();
    clear(form);
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    var payload = body(form);
    fetch(form.getAttribute("action"), {
      method: "POST", credentials: "same-origin", body: payload,
      headers: payload ? { "Content-Type": "application/json", "Accept": "application/json" } : { "Accept": "application/json" }
    }).then(function (response) {
      if (response.ok) {
        if (form.dataset.done) { form.querySelector(".form-done").textContent = form.dataset.done; return; }
        window.location.assign(form.dataset.next);
        return;
      }
      return response.json().catch(function () { return null; }).then(function (err) {
        if (form.classList.contains("signout")) { window.location.assign(form.dataset.next); return; }
        show(form, err);
      });
    }).catch(function () {
      show(form, { message: "The server could not be reached; check your connection and try again." });
    }).finally(function () { if (button) button.disabled = false; });
  }

  function tryRefresh() {
    // An expired session with a live refresh cookie: renew it and go on, without asking for the password again.
    var form = document.querySelector("form[data-try-refresh]");
    if (!form || /signed_out=1/.test(window.location.search)) return;
    fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" }).then(function (response) {
      if (response.ok) window.location.assign(form.dataset.next);
    }).catch(function () {});
  }

  function copy(event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var text = document.getElementById(button.dataset.copy).textContent;
    var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 2000); };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () {}); else done();
  }

  // Keep a dashboard left open signed in: the access cookie lives 15 minutes, the refresh cookie renews it. Renew
  // every 10 minutes, and at once when a live stream fails (its reconnection then carries the new cookie).
  // A refresh token is single-use (a reused one signs the whole session out), so the tabs of one browser take
  // turns: one renewal at a time (a Web Lock) and none within a minute of another tab's.
  function renewNow() {
    var last = +(window.localStorage.getItem("chatassist:renewed") || 0);
    if (Date.now() - last < 60000) return Promise.resolve();
    window.localStorage.setItem("chatassist:renewed", String(Date.now()));
    return fetch("/api/auth/refresh", { method: "POST", credentials: "same-origin" }).catch(function () {});
  }
  function renew() {
    if (navigator.locks) navigator.locks.request("chatassist:renew", renewNow); else renewNow();
  }
  if (document.body && document.body.classList.contains("app")) setInterval(renew, 10 * 60 * 1000);
  document.addEventListener("htmx:sseError", renew);

  // The workspace's brand colour, set through the CSSOM: the pages' CSP allows no inline <style> or style="".
  var brand = document.querySelector('meta[name="chatassist-brand"]');
  if (brand && /^#[0-9a-fA-F]{3,8}$/.test(brand.content)) {
    document.documentElement.style.setProperty("--brand", brand.content);
  }

  document.addEventListener("submit", submit);
  document.addEventListener("click", copy);
  document.addEventListener("DOMContentLoaded", tryRefresh);
})();
