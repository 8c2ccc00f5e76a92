// workbench.js: the parts of the management pages console.js does not
// do: the workflow editor (server checks shown at their lines, save, a test
// run), an endpoint's test delivery, and forms whose answer holds several
// values shown once (a new endpoint's URL and secret). Plain JavaScript, no
// framework and no inline script (the Content-Security-Policy forbids it).
// Every call is a fetch of the same /api/v1 route a key would call, with
// the page's CSRF token (<meta name="csrf-token">) as X-CSRF-Token; the
// server's role table, row-level security and audit log decide. Whatever
// comes back is written with textContent, never as HTML.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // api sends one request and resolves to {ok, status, body} (body parsed
  // as JSON when it is JSON).
  function api(method, url, body, contentType) {
    var headers = { "X-CSRF-Token": csrf(), "Accept": "application/json" };
    var payload;
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = contentType || "application/json";
      payload = contentType ? body : JSON.stringify(body);
    }
    return fetch(url, { method: method, headers: headers, body: payload, credentials: "same-origin" })
      .then(function (res) {
        return res.text().then(function (text) {
          var parsed = null;
          try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = text; }
          return { ok: res.ok, status: res.status, body: parsed };
        });
      })
      .catch(function (e) {
        return { ok: false, status: 0, body: { detail: "the request did not reach the server: " + e.message } };
      });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function clear(node) { while (node && node.firstChild) { node.removeChild(node.firstChild); } }

  // showProblem writes a problem+json answer into region: its detail and
  // each field problem (with its line, when it has one).
  function showProblem(region, res) {
    clear(region);
    region.hidden = false;
    var p = res.body || {};
    var detail = (p && p.detail) || ("the server answered " + res.status);
    region.appendChild(el("p", {}, detail + (p && p.code ? " (" + p.code + ")" : "")));
    if (p && p.errors && p.errors.length) {
      var ul = el("ul");
      p.errors.forEach(function (f) {
        var where = f.line ? "line " + f.line + (f.column ? ":" + f.column : "") + " — " : "";
        ul.appendChild(el("li", {}, where + (f.path ? f.path + ": " : "") + f.message));
      });
      region.appendChild(ul);
    }
    region.focus();
  }

  function showText(region, text) {
    clear(region);
    region.hidden = false;
    region.appendChild(el("p", {}, text));
    region.focus();
  }

  // formBody builds a JSON object from a form's named fields: checkboxes
  // are booleans, data-type="json" fields are parsed, data-type="number"
  // fields are numbers, empty optional fields are left out, and a name
  // "a.b" sets b in the object a (made, or parsed from an earlier field).
  function formBody(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (f) {
      // :disabled, not .disabled: a field of a disabled fieldset is too.
      if (!f.name || f.matches(":disabled") || f.name === "csrf_token") { return; }
      var into = out, key = f.name, dot = key.indexOf(".");
      if (dot > 0) {
        var parent = key.slice(0, dot);
        if (typeof out[parent] !== "object" || out[parent] === null) { out[parent] = {}; }
        into = out[parent];
        key = key.slice(dot + 1);
      }
      if (f.type === "checkbox") { into[key] = f.checked; return; }
      if (f.value === "" && !f.required) { return; }
      var t = f.getAttribute("data-type");
      if (t === "json") { into[key] = JSON.parse(f.value); return; }
      if (t === "number") { into[key] = Number(f.value); return; }
      into[key] = f.value;
    });
    return out;
  }

  // A fieldset with data-when-field shows (and sends its fields) only while
  // the field it names holds data-when-value.
  function wireWhen(set) {
    var field = document.getElementById(set.getAttribute("data-when-field"));
    if (!field) { return; }
    function sync() {
      var on = field.value === set.getAttribute("data-when-value");
      set.hidden = !on;
      set.disabled = !on;
    }
    field.addEventListener("change", sync);
    sync();
  }

  // Forms marked data-once-api send their fields as JSON to that route
  // (data-method, default POST; data-confirm, a question asked first;
  // data-path-field, a field that fills {name} in the route instead of the
  // body) and show the answer's fields named in data-once-fields in the
  // element data-once names, this one time; or go to the URL in the
  // answer's field data-go names (Stripe's pages); or reload.
  function wireForm(form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var q = form.getAttribute("data-confirm");
      if (q && !window.confirm(q)) { return; }
      var region = form.querySelector("[data-result]") || document.getElementById(form.getAttribute("data-result-in"));
      var body;
      try { body = formBody(form); } catch (e) { showText(region, "a field is not valid JSON: " + e.message); return; }
      var method = form.getAttribute("data-method") || "POST";
      var url = form.getAttribute("data-once-api");
      if (form.hasAttribute("data-path-field")) {
        var name = form.getAttribute("data-path-field");
        url = url.replace("{" + name + "}", encodeURIComponent(body[name] || ""));
        delete body[name];
      }
      var send = method === "DELETE" ? null : body;
      var button = form.querySelector('[type="submit"]');
      if (button) { button.disabled = true; }
      api(method, url, send).then(function (res) {
        if (button) { button.disabled = false; }
        if (!res.ok) { showProblem(region, res); return; }
        var go = form.getAttribute("data-go");
        if (go && res.body && /^https?:\/\//.test(res.body[go] || "")) { window.location.assign(res.body[go]); return; }
        var once = form.getAttribute("data-once");
        if (once) {
          showOnce(document.querySelector(once), res.body, form.getAttribute("data-once-fields"));
          form.reset(); // and fieldsets shown for a choice follow it back
          Array.prototype.forEach.call(form.querySelectorAll("select"), function (s) { s.dispatchEvent(new Event("change")); });
          return;
        }
        if (form.getAttribute("data-then") === "reload") { window.location.reload(); return; }
        showText(region, form.getAttribute("data-done") || "Done.");
      });
    });
  }

  // showOnce shows the one-time values of an answer (a new key, secret,
  // token or invitation link) with a copy button; the page never has them
  // again.
  function showOnce(region, body, fields) {
    clear(region);
    region.hidden = false;
    region.appendChild(el("p", {}, "Copy it now: it is shown only this once."));
    (fields || "").split(",").forEach(function (f) {
      f = f.trim();
      if (!f || !body || body[f] === undefined || body[f] === "") { return; }
      var id = "once-" + f;
      var row = el("p");
      row.appendChild(el("label", { "for": id }, f.replace(/_/g, " ")));
      var out = el("input", { id: id, readonly: "readonly", value: String(body[f]), "class": "secret" });
      row.appendChild(out);
      var copy = el("button", { type: "button", "data-copy-sel": "#" + id }, "Copy");
      wireCopy(copy);
      row.appendChild(copy);
      region.appendChild(row);
    });
    region.focus();
  }

  function wireCopy(button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy-sel"));
      if (!target) { return; }
      var text = target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent;
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(target); });
      } else {
        selectText(target);
        try { document.execCommand("copy"); done(); } catch (e) { /* selected for the user to copy */ }
      }
    });
  }

  function selectText(node) {
    if (node.select) { node.select(); return; }
    var r = document.createRange();
    r.selectNodeContents(node);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  // ----- the workflow editor -----------------------------------------

  function wireEditor(root) {
    var text = root.querySelector("#definition");
    var gutter = root.querySelector("[data-gutter]");
    var problems = root.querySelector("[data-problems]");
    var effects = root.querySelector("[data-effects]");
    var status = root.querySelector("[data-status]");
    var id = root.getAttribute("data-workflow-id");

    function renumber(bad) {
      clear(gutter);
      var n = text.value.split("\n").length;
      for (var i = 1; i <= n; i++) {
        var li = el("li", {}, i);
        if (bad && bad[i]) { li.className = "bad"; li.title = bad[i].join("\n"); }
        gutter.appendChild(li);
      }
    }
    text.addEventListener("input", function () { renumber(null); });
    text.addEventListener("scroll", function () { gutter.scrollTop = text.scrollTop; });
    renumber(null);

    function showProblems(res) {
      var bad = {};
      ((res.body && res.body.errors) || []).forEach(function (f) {
        if (f.line) { (bad[f.line] = bad[f.line] || []).push(f.message); }
      });
      renumber(bad);
      showProblem(problems, res);
      var first = ((res.body && res.body.errors) || []).filter(function (f) { return f.line; })[0];
      if (first) { problems.setAttribute("data-first-line", first.line); }
    }

    function showEffects(list) {
      clear(effects);
      effects.hidden = false;
      if (!list || !list.length) {
        effects.appendChild(el("p", {}, "No step acts outside AIAS: a test runs every step."));
        root.querySelector("#allow_side_effects").checked = false;
        root.querySelector("[data-allow]").hidden = true;
        return;
      }
      effects.appendChild(el("p", {}, "These steps act outside AIAS when they run:"));
      var ul = el("ul");
      list.forEach(function (e) {
        ul.appendChild(el("li", {}, e.name + " (" + e.type + ", line " + (e.line || "?") + ") " + e.does));
      });
      effects.appendChild(ul);
      root.querySelector("[data-allow]").hidden = false;
    }

    function check() {
      status.textContent = "Checking…";
      return api("POST", "/api/v1/workflows/validate", text.value, "application/yaml").then(function (res) {
        if (!res.ok) { status.textContent = "The definition has problems."; showProblems(res); return false; }
        clear(problems); problems.hidden = true; renumber(null);
        status.textContent = "Valid: " + res.body.name + ", " + res.body.steps + " steps.";
        showEffects(res.body.side_effects);
        return true;
      });
    }

    var checkButton = root.querySelector("[data-check]");
    if (checkButton) { checkButton.addEventListener("click", check); }

    var save = root.querySelector("[data-save]");
    if (save) {
      save.addEventListener("click", function () {
        status.textContent = "Saving…";
        var method = id ? "PUT" : "POST";
        var url = id ? "/api/v1/workflows/" + id : "/api/v1/workflows";
        api(method, url, text.value, "application/yaml").then(function (res) {
          if (!res.ok) { status.textContent = "Not saved."; showProblems(res); return; }
          clear(problems); problems.hidden = true; renumber(null);
          status.textContent = "Saved version " + res.body.version + ".";
          if (!id) { window.location.assign("/workflows/" + res.body.id); }
        });
      });
    }

    var test = root.querySelector("[data-test]");
    if (test) {
      test.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var out = root.querySelector("[data-test-result]");
        var trigger;
        try {
          trigger = {
            body: JSON.parse(root.querySelector("#trigger_body").value || "null"),
            headers: JSON.parse(root.querySelector("#trigger_headers").value || "{}")
          };
        } catch (e) { showText(out, "The trigger is not valid JSON: " + e.message); return; }
        var allow = root.querySelector("#allow_side_effects").checked;
        api("POST", "/api/v1/workflows/test", { definition: text.value, trigger: trigger, allow_side_effects: allow }).then(function (res) {
          if (!res.ok) {
            showProblem(out, res);
            if (res.body && res.body.code === "side_effects_not_allowed") { check(); }
            return;
          }
          showTest(out, res.body);
        });
      });
    }
  }

  function showTest(region, r) {
    clear(region);
    region.hidden = false;
    region.appendChild(el("p", { "class": "status-" + r.status }, "Test " + r.status + (r.error ? ": " + r.error : ".")));
    var table = el("table");
    var head = el("tr");
    ["Step", "Type", "Status", "Output or error", "ms"].forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    table.appendChild(head);
    r.steps.forEach(function (s) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, s.name));
      tr.appendChild(el("td", {}, s.type));
      tr.appendChild(el("td", {}, s.status));
      var cell = el("td");
      var shown = s.error ? s.error : JSON.stringify(s.output, null, 2);
      cell.appendChild(el("pre", {}, shown));
      (s.artifacts || []).forEach(function (a) {
        cell.appendChild(el("p", {}, "artifact " + a.name + " (" + a.content_type + ", " + a.size + " bytes)"));
        if (a.preview) { cell.appendChild(el("pre", {}, a.preview)); }
      });
      tr.appendChild(cell);
      tr.appendChild(el("td", {}, s.duration_ms));
      table.appendChild(tr);
    });
    region.appendChild(table);
    if (r.skipped && r.skipped.length) { region.appendChild(el("p", {}, "Skipped: " + r.skipped.join(", "))); }
    region.focus();
  }

  // ----- endpoints: a test delivery ------------------------------------

  function wireDelivery(button) {
    button.addEventListener("click", function () {
      var out = document.querySelector(button.getAttribute("data-out"));
      button.disabled = true;
      api("POST", "/api/v1/webhook-endpoints/" + button.getAttribute("data-test-delivery") + "/test", {}).then(function (res) {
        button.disabled = false;
        if (!res.ok) { showProblem(out, res); return; }
        var o = res.body;
        clear(out);
        out.hidden = false;
        var line = o.outcome === "rejected"
          ? "Rejected with " + o.status + ": " + o.reason + (o.detail ? " — " + o.detail : "")
          : "Answered " + o.status + " (" + o.outcome + "): run " + o.run_id + " is " + o.run_status + ".";
        out.appendChild(el("p", { "class": "outcome-" + o.outcome }, line));
        if (o.run_id) {
          var a = el("a", { href: "/runs/" + o.run_id }, "Open the run");
          out.appendChild(a);
        }
        out.appendChild(el("p", {}, "Sent with headers: " + o.headers.join(", ")));
        out.appendChild(el("pre", {}, JSON.stringify(o.body, null, 2)));
        out.focus();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once-api]"), wireForm);
    Array.prototype.forEach.call(document.querySelectorAll("fieldset[data-when-field]"), wireWhen);
    Array.prototype.forEach.call(document.querySelectorAll("[data-editor]"), wireEditor);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-test-delivery]"), wireDelivery);
  });
})();
