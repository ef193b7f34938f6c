// ChatAssist prompt studio: the sandbox (streamed from POST /api/admin/prompts/sandbox), unsaved-change tracking.
// htmx does the forms (save, check as you type, publish, review, roll back, replay, try a message).
(function () {
  "use strict";
  var editor = function () { return document.getElementById("editor-form"); };
  var dirty = false;
  var pendingRun = null; // messages waiting for the draft to be saved

  function draftId() { var el = document.getElementById("draft-id"); return el ? el.value : ""; }

  document.addEventListener("input", function (event) {
    if (editor() && editor().contains(event.target)) dirty = true;
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  // A submitted form leaves the page on purpose (publish, roll back): no "unsaved changes" question then.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var path = event.detail.requestConfig && event.detail.requestConfig.path;
    if (path === "/app/prompts/publish" || path === "/app/prompts/rollback" || path === "/app/prompts/discard") dirty = false;
  });

  document.addEventListener("chatassist:draft-saved", function (event) {
    dirty = false;
    var id = event.detail && event.detail.draft_id;
    document.querySelectorAll("[data-draft-id]").forEach(function (input) { input.value = id; });
    document.querySelectorAll("a[data-draft-link]").forEach(function (a) {
      a.href = a.href.replace(/([?&])draft=[^&]*/, "$1draft=" + id);
      if (a.href.indexOf("draft=") < 0) a.href += (a.href.indexOf("?") < 0 ? "?" : "&") + "draft=" + id;
    });
    if (pendingRun) { var messages = pendingRun; pendingRun = null; run({ draft_id: id, messages: messages }); }
  });
  document.addEventListener("chatassist:draft-refused", function (event) {
    if (!pendingRun) return;
    pendingRun = null;
    sandboxError("Fix the draft before running it: " + ((event.detail && event.detail.message) || "it was refused."));
  });

  // "Try a message": the card of the rule that fired stands out.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "try-result") return;
    var decision = event.detail.target.querySelector(".decision[data-rule]");
    var rule = decision ? decision.dataset.rule : "";
    document.querySelectorAll(".rule-card").forEach(function (card) {
      card.classList.toggle("fired", card.dataset.rule === rule);
    });
  });

  function sandboxError(text) {
    var slot = document.querySelector("[data-sandbox-error]");
    if (slot) slot.textContent = text;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function money(value) {
    if (value === null || value === undefined) return "—";
    var n = Number(value);
    return "$" + (n !== 0 && Math.abs(n) < 0.1 ? n.toFixed(4) : n.toFixed(2));
  }

  function describe(done) {
    var usage = done.usage || {};
    var parts = [
      "Tokens: " + (usage.input_tokens || 0) + " in · " + (usage.output_tokens || 0) + " out",
      "Cost: " + money(done.cost_usd),
      "Confidence: " + Math.round((done.confidence || 0) * 100) + "%",
      "Topic: " + (done.topic || "—"),
      "Model: " + (done.model || "—") + (done.offline ? " (offline)" : "")
    ];
    return parts;
  }

  function escalationText(escalation) {
    if (!escalation) return "Escalation: none, the AI answers";
    var what = escalation.action === "escalate" ? "escalates to " + (escalation.route || "a person") : "offers a person";
    return "Escalation: " + escalation.rule + " (" + what + ")";
  }

  // Server-sent events from a fetch body: "event: x\ndata: {...}\n\n" blocks.
  function readEvents(response, onEvent) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) return;
        buffer += decoder.decode(chunk.value, { stream: true });
        var blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop();
        blocks.forEach(function (block) {
          var name = "message", data = [];
          block.split(/\r?\n/).forEach(function (line) {
            if (line.indexOf("event:") === 0) name = line.slice(6).trim();
            else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
          });
          if (data.length) onEvent(name, JSON.parse(data.join("\n")));
        });
        return pump();
      });
    }
    return pump();
  }

  function run(body) {
    var form = document.getElementById("sandbox-form");
    var list = document.getElementById("sandbox-turns");
    var button = form.querySelector("button[type=submit]");
    list.textContent = "";
    sandboxError("");
    button.disabled = true;
    var turns = {}, current = null;
    fetch("/api/admin/prompts/sandbox", {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream" }
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return null; }).then(function (err) {
          sandboxError((err && err.message) || "The sandbox could not run; please try again.");
        });
      }
      return readEvents(response, function (name, data) {
        if (name === "start") {
          var item = el("li", "sandbox-turn");
          item.appendChild(el("p", "msg-line visitor", body.messages[data.turn - 1] || ""));
          var reply = el("p", "msg-line assistant streaming", "");
          item.appendChild(reply);
          var facts = el("ul", "turn-facts");
          item.appendChild(facts);
          list.appendChild(item);
          current = turns[data.turn] = { reply: reply, facts: facts };
        } else if (name === "delta" && current) {
          current.reply.textContent += data.text;
        } else if (name === "restart" && current) {
          current.reply.textContent = "";
          current.facts.appendChild(el("li", "", "Retried on " + data.provider + " " + data.model));
        } else if (name === "done" && current) {
          current.reply.classList.remove("streaming");
          describe(data).concat([escalationText(data.escalation)]).forEach(function (text) {
            current.facts.appendChild(el("li", "", text));
          });
          if (data.escalation) current.reply.parentNode.classList.add("escalated-turn");
        } else if (name === "error") {
          sandboxError(data.message || "The assistant could not answer.");
        }
      });
    }).catch(function () {
      sandboxError("The server could not be reached; check your connection and try again.");
    }).finally(function () { button.disabled = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.id !== "sandbox-form") return;
    event.preventDefault();
    var messages = form.querySelector("textarea").value.split(/\r?\n/).map(function (m) { return m.trim(); })
      .filter(function (m) { return m; });
    if (!messages.length) { sandboxError("Write a visitor message to try."); return; }
    if (messages.length > 10) { sandboxError("At most 10 messages: one visitor message a line."); return; }
    if (dirty && editor()) { // the changes in the editor are what the admin wants to try: save them first
      pendingRun = messages;
      editor().requestSubmit();
      return;
    }
    var id = draftId();
    run(id ? { draft_id: id, messages: messages } : { version: Number(form.dataset.liveVersion), messages: messages });
  });
})();
