// ChatAssist admin screens (API keys and models, integrations, settings): forms and buttons that call the JSON
// API with any method. A refusal's sentence goes next to the field it concerns and what was typed stays; a success
// reloads the page and says what happened where it was asked. Small and ours.
(function () {
  "use strict";
  var FLASH = "chatassist:flash";
  // Which field an API error code concerns, when its sentence does not name the field.
  var CODE_FIELDS = {
    invalid_api_key: "api_key", invalid_url: "url", url_not_https: "url", url_private_address: "url",
    url_unresolvable: "url", invalid_event_types: "event_types", unknown_event_type: "event_types",
    invalid_slack_mode: "mode", invalid_slack_token: "bot_token", invalid_channel: "channel",
    invalid_subdomain: "subdomain", invalid_email: "email", invalid_api_token: "api_token",
    invalid_groups: "route_groups", invalid_access_token: "access_token", credential_rejected: "access_token",
    invalid_language: "widget_language", invalid_colour: "widget_theme_colour", invalid_time_zone: "time_zone",
    invalid_business_hours: "business_hours", invalid_holidays: "holidays"
  };

  function slot(root, name) { return root.querySelector('[data-error-for="' + name + '"]'); }

  function clear(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function names(form) {
    var out = [];
    form.querySelectorAll("[data-error-for]").forEach(function (el) {
      if (el.dataset.errorFor !== "_form") out.push(el.dataset.errorFor);
    });
    return out;
  }

  function show(form, err) {
    var message = (err && err.message) || "Something went wrong; please try again.";
    var target = CODE_FIELDS[err && err.code];
    var aliases = form.dataset.aliases ? JSON.parse(form.dataset.aliases) : {};  // this form's name for that field
    if (target && aliases[target]) target = aliases[target];
    if (!target || !slot(form, target)) {
      target = null;
      names(form).some(function (name) {  // the field the sentence names ("max_history_turns must be ...")
        if (new RegExp("(^|[^a-z_])" + name + "([^a-z_]|$)").test(message)) { target = name; return true; }
        return false;
      });
    }
    var where = target && slot(form, target);
    if (!where) { slot(form, "_form").textContent = message; return; }
    where.textContent = message;
    var input = form.querySelector('[name="' + target + '"], [name^="' + target + '."]');
    if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
  }

  function value(input) {
    var kind = input.dataset.kind;
    if (kind === "bool") return input.checked;
    if (kind === "int") return input.value === "" ? input.value : Number(input.value);
    if (kind === "lines") return input.value.split(/[\n,]/).map(function (s) { return s.trim(); }).filter(Boolean);
    return input.value;
  }

  // The form as a JSON object: checkboxes as booleans, data-kind="int" as numbers, a group of checkboxes named
  // "x[]" as a list, "a.b.0" / "a.b.1" as {"a": {"b": [.., ..]}} (a pair left empty is null: a closed day).
  function payload(form) {
    var data = {};
    form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (input) {
      var name = input.name;
      if (input.disabled || input.dataset.skip !== undefined) return;
      if (/\[\]$/.test(name)) {
        var key = name.slice(0, -2);
        data[key] = data[key] || [];
        if (input.checked) data[key].push(input.value);
        return;
      }
      if (input.type === "checkbox" && input.dataset.kind !== "bool") return;
      if (input.type === "radio" && !input.checked) return;
      var pair = /^([a-z_]+)\.([a-z_]+)\.([01])$/.exec(name);
      if (pair) {
        data[pair[1]] = data[pair[1]] || {};
        var p = data[pair[1]][pair[2]] = data[pair[1]][pair[2]] || ["", ""];
        p[+pair[3]] = input.value;
        return;
      }
      if (input.value === "" && !input.required && !input.dataset.kind) return; // optional text, empty: not sent
      data[name] = value(input);
    });
    Object.keys(data).forEach(function (key) {
      var v = data[key];
      if (v && typeof v === "object" && !Array.isArray(v)) {
        Object.keys(v).forEach(function (k) { if (Array.isArray(v[k]) && !v[k][0] && !v[k][1]) v[k] = null; });
      }
    });
    return data;
  }

  function request(method, url, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
                        body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (response) {
        if (response.status === 401) { window.location.assign("/signin?next=" + encodeURIComponent(location.pathname)); }
        return response.text().then(function (text) {
          var parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
          return { ok: response.ok, body: parsed };
        });
      });
  }

  function reloadWith(slotId, text, bad) {
    if (slotId && text) {
      var flash = {}; flash[slotId] = bad ? { text: text, bad: true } : text;
      window.sessionStorage.setItem(FLASH, JSON.stringify(flash));
    }
    window.location.reload();
  }

  function revealSecret(form, secret) {
    var box = document.getElementById(form.dataset.secret);
    if (!box) return false;
    box.querySelector("[data-secret-value]").textContent = secret;
    box.hidden = false;
    box.querySelector("button, a").focus();
    return true;
  }

  function submit(event) {
    var form = event.target.closest("form[data-method]");
    if (!form) return;
    event.preventDefault();
    clear(form);
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    request(form.dataset.method, form.getAttribute("action"), payload(form)).then(function (got) {
      if (!got.ok) { show(form, got.body); return; }
      if (got.body && got.body.secret && revealSecret(form, got.body.secret)) return;
      var text = form.dataset.flashText || "Saved.";
      if (got.body && typeof got.body.ok === "boolean" && got.body.detail && got.body.connected === undefined) text = got.body.detail;
      reloadWith(form.dataset.flash, text);
    }).catch(function () {
      show(form, { message: "The server could not be reached; check your connection and try again." });
    }).finally(function () { if (button) button.disabled = false; });
  }

  // A GET form that starts a provider's consent (Connect with Zendesk) is followed as a link: the pages' CSP
  // allows forms to send only to this site ("form-action 'self'"), and browsers apply that to the redirect the
  // install answers with, to the provider's own host. A navigation to the same URL is not a form submission.
  function followAsLink(event) {
    var form = event.target.closest("form.oauth-connect");
    if (!form) return;
    event.preventDefault();
    var query = new URLSearchParams(new FormData(form)).toString();
    window.location.assign(form.getAttribute("action") + (query ? "?" + query : ""));
  }

  function call(event) {
    var button = event.target.closest("button[data-call]");
    if (!button) return;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    var parts = button.dataset.call.split(" ");
    var out = document.getElementById(button.dataset.slot);
    if (out) { out.textContent = ""; out.classList.remove("bad"); }
    button.disabled = true;
    var body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    request(parts[0], parts[1], body).then(function (got) {
      if (!got.ok) {
        if (out) { out.textContent = (got.body && got.body.message) || "Refused."; out.classList.add("bad"); }
        return;
      }
      var answer = got.body || {};
      if (answer.secret && button.dataset.secret) {
        var box = document.getElementById(button.dataset.secret);
        box.querySelector("[data-secret-value]").textContent = answer.secret;
        box.hidden = false;
        box.querySelector("button").focus();
        return;
      }
      var text = button.dataset.doneText || "Done.";
      if (typeof answer.ok === "boolean" && answer.provider) text = (answer.ok ? "Works: " : "Refused: ") + answer.detail;
      else if (answer.connected !== undefined && (answer.notice || answer.status)) text = answer.notice || answer.status;
      // a check that ran but failed (a refused credential, a refresh the provider would not make) reads as one
      reloadWith(button.dataset.slot, text, answer.ok === false || answer.connected === false);
    }).catch(function () {
      if (out) out.textContent = "The server could not be reached; check your connection and try again.";
    }).finally(function () { button.disabled = false; });
  }

  function flash() {
    var raw = window.sessionStorage.getItem(FLASH);
    if (!raw) return;
    window.sessionStorage.removeItem(FLASH);
    try {
      var found = JSON.parse(raw);
      Object.keys(found).forEach(function (id) {
        var el = document.getElementById(id), said = found[id];
        if (!el) return;
        var text = typeof said === "string" ? said : said.text;
        // an integration's card that already says it (a failed Test: the card's sentence is the reason) says it once
        var card = el.closest("[data-integration]"), sentence = card && card.querySelector("[data-sentence]");
        if (sentence && sentence.textContent.trim() === String(text).trim()) return;
        // a Test that worked: its outcome is the card's "Last test passed" line, refreshed; say only that it ran
        var tested = card && card.querySelector("[data-tested]");
        if (tested && tested.getAttribute("data-status-text") === String(text).trim()) text = "Tested just now: it works.";
        el.textContent = text;
        if (typeof said !== "string" && said.bad) el.classList.add("bad");
      });
    } catch (e) { /* a stale value: nothing to say */ }
  }

  // Settings: the widget preview follows the theme colour, badge and CSAT switches and the language as typed.
  function preview() {
    var box = document.querySelector("[data-widget-preview]");
    if (!box) return;
    var colour = document.querySelector('[name="widget_theme_colour"]');
    var picker = document.querySelector("[data-colour-picker]");
    var paint = function (v) { if (/^#[0-9a-fA-F]{6}$/.test(v)) box.style.setProperty("--preview", v); };
    if (colour) {
      paint(colour.value);
      colour.addEventListener("input", function () { paint(colour.value); if (picker && /^#[0-9a-fA-F]{6}$/.test(colour.value)) picker.value = colour.value; });
    }
    if (picker && colour) picker.addEventListener("input", function () { colour.value = picker.value; paint(picker.value); });
    [["show_ai_badge", "[data-preview-badge]"], ["collect_csat", "[data-preview-csat]"]].forEach(function (pair) {
      var input = document.querySelector('[name="' + pair[0] + '"]');
      var part = box.querySelector(pair[1]);
      if (!input || !part) return;
      var sync = function () { part.hidden = !input.checked; };
      sync();
      input.addEventListener("change", sync);
    });
  }

  function closeSecret(event) {
    var button = event.target.closest("[data-secret-done]");
    if (!button) return;
    window.location.reload();
  }

  document.addEventListener("submit", submit);
  document.addEventListener("submit", followAsLink);
  document.addEventListener("click", call);
  document.addEventListener("click", closeSecret);
  document.addEventListener("DOMContentLoaded", function () { flash(); preview(); });
})();
