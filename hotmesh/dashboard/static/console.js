// hotmesh dashboard: live refresh of the [data-live] sections and actions sent
// with fetch. Written for this console; no library. Pages work without it
// (forms post and redirect), this only spares the reloads.
"use strict";

(function () {
  var REFRESH_MS = 2000;
  var busy = false;

  function flash(text, bad) {
    var box = document.getElementById("flash");
    if (!box) return;
    box.textContent = text; // text, never markup
    box.className = bad ? "bad" : "good";
  }

  function holdsFocus(el) {
    var active = document.activeElement;
    return active && active !== document.body && el.contains(active);
  }

  function refresh() {
    var live = document.querySelectorAll("[data-live][id]");
    if (busy || !live.length || document.visibilityState === "hidden") {
      return Promise.resolve();
    }
    busy = true;
    return fetch(window.location.href, {
      headers: { "X-Requested-With": "hotmesh-refresh" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        live.forEach(function (old) {
          var next = fresh.getElementById(old.id);
          if (!next || holdsFocus(old) || next.innerHTML === old.innerHTML) return;
          old.replaceWith(document.importNode(next, true));
        });
        var gone = fresh.querySelector("[data-live][id]") === null;
        if (gone) flash("this page is gone", true);
      })
      .catch(function () { /* a refresh missed; the next one tries again */ })
      .then(function () { busy = false; });
  }

  function send(form, event) {
    event.preventDefault();
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) return;
    var button = form.querySelector("button");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-Requested-With": "hotmesh",
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(new FormData(form)).toString(),
    })
      .then(function (response) {
        return response.json().then(function (body) { return [response, body]; });
      })
      .then(function (pair) {
        var body = pair[1];
        if (!pair[0].ok || !body.ok) {
          flash(body.error || "refused", true);
          return;
        }
        flash(body.message || "done", false);
        var target = new URL(body.location, window.location.href);
        if (target.pathname !== window.location.pathname) {
          window.location.assign(target.href);
        } else {
          if (document.activeElement) document.activeElement.blur();
          return refresh();
        }
      })
      .catch(function (err) { flash("the console did not answer: " + err, true); })
      .then(function () { if (button) button.disabled = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-action")) {
      send(form, event);
    }
  });

  window.setInterval(refresh, REFRESH_MS);
})();
