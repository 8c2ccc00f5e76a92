// AIAS console: the one script of every page (no inline script; the
// Content-Security-Policy allows none). It turns forms marked data-api into
// fetches of the same /api/v1 routes the API documents, with the sign-in's
// CSRF token, and reloads the fragments of live views.
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // formJSON is the form's named fields as a JSON object: empty optional
  // fields are left out; data-type="int" fields are numbers; checkboxes
  // are booleans; data-type="json" fields are parsed.
  function formJSON(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.disabled) return;
      var t = el.getAttribute("data-type");
      if (el.type === "checkbox") { out[el.name] = el.checked; return; }
      if (el.value === "" && !el.required) return;
      if (t === "int") out[el.name] = parseInt(el.value, 10);
      else if (t === "json") out[el.name] = JSON.parse(el.value);
      else out[el.name] = el.value;
    });
    return out;
  }

  function problemBox(form) {
    return form.querySelector("[data-problem]") || document.querySelector("main [data-problem]");
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-field-error]"), function (e) { e.textContent = ""; });
    var box = problemBox(form);
    if (box) { box.hidden = true; box.textContent = ""; }
  }

  function showProblem(form, p) {
    var box = problemBox(form);
    (p.errors || []).forEach(function (fe) {
      var slot = form.querySelector('[data-field-error="' + CSS.escape(fe.path) + '"]');
      if (slot) slot.textContent = fe.message;
    });
    if (box) {
      box.textContent = (p.detail || p.title || "Request failed") + (p.code ? " (" + p.code + ")" : "");
      box.hidden = false;
      box.focus && box.setAttribute("tabindex", "-1");
      box.focus();
    }
  }

  // fill replaces {key} in s with the answer's fields (ids are URL-safe).
  // Only for a data-then the template wrote: a destination that came from
  // a link (data-next) is never filled, or "{x}" could make it "//host"
  // or put the answer's CSRF token in a URL.
  function fill(s, data) {
    return s.replace(/\{(\w+)\}/g, function (_, k) { return encodeURIComponent(data && data[k] != null ? data[k] : ""); });
  }

  // go sends the browser to dest if it is on this origin, else to the
  // overview: whatever dest became, a form never leads off the console.
  function go(dest) {
    var u = null;
    try { u = new URL(dest, location.href); } catch (e) { /* not a URL */ }
    window.location.assign(u && u.origin === location.origin ? u.href : "/");
  }

  function submit(form, ev) {
    ev.preventDefault();
    var confirmText = form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) return;
    clearErrors(form);
    var method = (form.getAttribute("data-method") || "POST").toUpperCase();
    var headers = { "Accept": "application/json" };
    var token = csrf();
    if (token) headers["X-CSRF-Token"] = token;
    var body;
    if (method !== "GET" && method !== "DELETE") {
      try { body = JSON.stringify(formJSON(form)); }
      catch (e) { showProblem(form, { detail: "a field is not valid JSON: " + e.message }); return; }
      headers["Content-Type"] = "application/json";
    }
    var button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    fetch(form.getAttribute("data-api"), { method: method, headers: headers, body: body, credentials: "same-origin" })
      .then(function (res) {
        var ct = res.headers.get("Content-Type") || "";
        var parsed = ct.indexOf("json") >= 0 ? res.json() : Promise.resolve(null);
        return parsed.then(function (data) { return { res: res, data: data }; });
      })
      .then(function (r) {
        if (button) button.disabled = false;
        if (!r.res.ok) {
          if (r.res.status === 401 && token) { window.location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search)); return; }
          showProblem(form, r.data || { detail: "HTTP " + r.res.status });
          return;
        }
        var show = form.getAttribute("data-show");
        if (show) {
          var out = document.getElementById(form.getAttribute("data-show-in"));
          if (out) { out.textContent = (r.data && r.data[show]) || ""; out.hidden = false; out.closest("[hidden]") && (out.closest("[hidden]").hidden = false); }
          form.reset();
          return;
        }
        var next = form.getAttribute("data-next");
        if (next !== null) { go(next); return; }
        var then = form.getAttribute("data-then");
        if (!then || then === "reload") { window.location.reload(); return; }
        go(fill(then, r.data));
      })
      .catch(function (e) {
        if (button) button.disabled = false;
        showProblem(form, { detail: "the request did not complete: " + e.message });
      });
  }

  // The page's own reloads say so (X-Console-Poll): they are not the
  // person's activity, so a tab left open still ends its sign-in at the
  // idle timeout.
  var unattended = { "Accept": "text/html", "X-Console-Poll": "1" };

  // signedOut says whether a reload's answer means the sign-in ended: the
  // whole page then shows it (the login form). Any other failure (a 503
  // while Postgres is away, a proxy's 502) is waited out.
  function signedOut(res) { return res.status === 401 || res.redirected; }

  // redraw replaces the page's main with a fresh copy of the page, fetched
  // as a reload of its own; then calls next. A sign-in that ended reloads
  // the whole page instead; an error tries again later.
  function redraw(next, every) {
    fetch(location.href, { credentials: "same-origin", headers: unattended })
      .then(function (res) {
        if (signedOut(res)) { window.location.reload(); return; }
        if (!res.ok) { setTimeout(next, every * 3); return; }
        return res.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var main = doc.querySelector("main");
          if (!main) { window.location.reload(); return; }
          document.querySelector("main").innerHTML = main.innerHTML;
          document.title = doc.title;
          next();
        });
      })
      .catch(function () { setTimeout(next, every * 3); });
  }

  // A live region reloads its fragment every data-every ms while it says
  // it is live (a run on it moves), every data-idle ms otherwise (new runs
  // appear at its top; 0: it stops), and only while the page is visible.
  function live(el) {
    var every = parseInt(el.getAttribute("data-every") || "3000", 10);
    var idle = parseInt(el.getAttribute("data-idle") || "0", 10);
    function wait() { return el.getAttribute("data-live") === "true" ? every : idle; }
    function later() { if (wait() > 0) setTimeout(tick, wait()); }
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(el.getAttribute("data-refresh"), { credentials: "same-origin", headers: unattended })
        .then(function (res) {
          // A sign-in that ended: the whole page shows the login form.
          if (signedOut(res)) { window.location.reload(); return; }
          if (!res.ok) { setTimeout(tick, Math.max(every, wait()) * 3); return; }
          return res.text().then(function (html) {
            el.innerHTML = html;
            el.setAttribute("data-live", res.headers.get("X-Live") === "true" ? "true" : "false");
            later();
          });
        })
        .catch(function () { setTimeout(tick, Math.max(every, wait()) * 3); });
    }
    later();
  }

  function copy(btn) {
    var src = document.getElementById(btn.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    navigator.clipboard.writeText(src.textContent || src.value || "").then(function () {
      btn.textContent = "Copied";
    });
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-api")) submit(form, ev);
  });
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest && ev.target.closest("[data-copy]");
    if (btn) copy(btn);
  });
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-refresh]"), live);
    var reload = document.querySelector("[data-reload]");
    if (reload) {
      var every = parseInt(reload.getAttribute("data-reload"), 10) || 3000;
      var again = function () {
        // Not while the person is typing or a dialog is open.
        if (document.hidden || document.activeElement && document.activeElement.tagName === "INPUT") { setTimeout(again, every); return; }
        // The redrawn page says whether it still moves.
        redraw(function () { if (document.querySelector("[data-reload]")) setTimeout(again, every); }, every);
      };
      setTimeout(again, every);
    }
  });
})();
