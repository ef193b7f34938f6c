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

// Team and Knowledge screens: forms that call the JSON API with any method (data-api="PATCH"...), a JSON body typed
// by data-type (list: comma-separated, int, bool: a checkbox) or a file upload (enctype multipart), then refresh a
// part of the page (data-api-refresh: htmx fetches the page's fragment again), go to data-api-next ({id} from the
// answer) or show what an import did. A refusal shows the API's sentence by its field; the form keeps what was typed.
(function () {
  "use strict";
  function slot(form, name) { return form.querySelector('[data-error-for="' + name + '"]'); }
  function clear(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }
  function show(form, err) {
    var message = (err && err.message) || "Something went wrong; please try again.";
    var named = /field `([a-z_]+)`/.exec(message);
    var fields = named ? [named[1]] : [];
    if (err && err.code === "invalid_email") fields.push("email");
    if (err && /title/.test(err.code || "")) fields.push("title");
    if (err && /body|article_too|empty_article/.test(err.code || "")) fields.push("body");
    if (err && /crawl_url|private_address/.test(err.code || "")) fields.push("url");
    for (var i = 0; i < fields.length; i++) {
      var input = form.querySelector('[name="' + fields[i] + '"]');
      if (input && slot(form, fields[i])) {
        slot(form, fields[i]).textContent = message;
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
    }
    var general = slot(form, "_form");
    if (general) general.textContent = message; else window.alert(message);
  }
  function json(form) {
    var data = {}, any = false;
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (input) {
      if (input.disabled || input.type === "file") return;
      var kind = input.dataset.type, value = input.value;
      if (input.type === "checkbox") { data[input.name] = input.checked; any = true; return; }
      if (value === "" && kind === "list") { data[input.name] = []; any = true; return; }
      if (value === "" && !input.required) { if (kind === "nullable") { data[input.name] = null; any = true; } return; }
      if (kind === "list") value = value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
      if (kind === "int") value = parseInt(value, 10);
      data[input.name] = value; any = true;
    });
    return any ? JSON.stringify(data) : undefined;
  }
  // An upload posts its files only; the form's other fields (an import's language...) go in the query string
  function files(form) {
    var data = new FormData();
    form.querySelectorAll('input[type="file"][name]').forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) { data.append(input.name, file); });
    });
    return data;
  }
  function withOptions(form, action) {
    var query = [];
    form.querySelectorAll("input[name], select[name]").forEach(function (input) {
      if (input.type === "file" || input.disabled || input.value === "") return;
      if (input.type === "checkbox" && !input.checked) return;
      query.push(encodeURIComponent(input.name) + "=" + encodeURIComponent(input.type === "checkbox" ? "true" : input.value));
    });
    return query.length ? action + (action.indexOf("?") < 0 ? "?" : "&") + query.join("&") : action;
  }
  function report(form, body) {
    var out = form.querySelector(".import-report");
    if (!out || !body) return;
    out.textContent = "";
    var line = document.createElement("p");
    line.textContent = "Imported: " + body.created.length + " new, " + body.updated.length + " updated, " +
      body.unchanged.length + " unchanged, " + (body.kept_edited.length + body.kept_deleted.length) +
      " left as edited here, " + body.skipped.length + " skipped, " + body.failed.length + " failed.";
    out.appendChild(line);
    if (body.failed.length) {
      var list = document.createElement("ul");
      body.failed.forEach(function (f) {
        var item = document.createElement("li");
        item.textContent = (f.key || f.url || "?") + ": " + (f.reason || f.code || "failed");
        list.appendChild(item);
      });
      out.appendChild(list);
    }
  }
  function invited(form, body) {
    var out = form.querySelector(".invite-done");
    if (!out || !body) return;
    var email = form.querySelector('[name="email"]').value;
    out.textContent = "";
    var line = document.createElement("p");
    if (body.emailed) {
      line.textContent = "Invitation emailed to " + email + ".";
      out.appendChild(line);
    } else {
      line.textContent = "No email server is set up here: send " + email + " this link yourself.";
      var link = document.createElement("input");
      link.type = "text"; link.readOnly = true; link.value = body.link; link.setAttribute("aria-label", "Invitation link");
      out.appendChild(line); out.appendChild(link);
    }
    form.querySelector('[name="email"]').value = "";
  }
  // Read your writes: a form with data-api-wait asks the page to wait until its read model shows the change
  function waitFor(body) {
    if (!body) return "";
    var id = body.id || [].concat(body.created || [], body.updated || []).pop();
    if (!id) return "";
    return encodeURIComponent(id) + ":" + (body.deleted ? "deleted" : (body.version || 0));
  }
  function refresh(selector, wait) {
    var target = document.querySelector(selector);
    if (!target || !window.htmx) { window.location.reload(); return; }
    var url = window.location.pathname + window.location.search;
    if (wait) url += (url.indexOf("?") < 0 ? "?" : "&") + "wait=" + wait;
    window.htmx.ajax("GET", url, { target: selector, swap: "innerHTML" });
  }
  function submit(event) {
    var form = event.target.closest("form[data-api]");
    if (!form) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    clear(form);
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    var upload = form.enctype === "multipart/form-data";
    var action = form.getAttribute("action");
    var payload = upload ? files(form) : json(form);
    if (upload) action = withOptions(form, action);
    var headers = { "Accept": "application/json" };
    if (payload && !upload) headers["Content-Type"] = "application/json";
    var status = form.querySelector(".api-status");
    if (status) status.textContent = form.dataset.working || "";
    fetch(action, { method: form.dataset.api, credentials: "same-origin", body: payload, headers: headers })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok) { show(form, body); return; }
          if (form.dataset.apiKind === "invite") invited(form, body);
          if (form.dataset.apiKind === "import") report(form, body);
          var wait = form.hasAttribute("data-api-wait") ? waitFor(body) : "";
          if (form.dataset.apiNext) {
            var next = form.dataset.apiNext.replace("{id}", body && body.id);
            window.location.assign(next + (wait ? (next.indexOf("?") < 0 ? "?" : "&") + "wait=" + wait : ""));
            return;
          }
          if (form.dataset.apiRefresh) refresh(form.dataset.apiRefresh, wait);
          var done = form.querySelector(".form-done:not(.invite-done)");
          if (done && form.dataset.apiDone) done.textContent = form.dataset.apiDone;
        });
      })
      .catch(function () { show(form, { message: "The server could not be reached; check your connection and try again." }); })
      .finally(function () { if (button) button.disabled = false; if (status) status.textContent = ""; });
  }
  document.addEventListener("submit", submit);
})();
