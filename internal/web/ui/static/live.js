// live.js: live updates for pages that show data others may change.
// Loaded on every page; it does nothing unless the page has a #live
// element, which names its event stream (data-live-src) and the parts to
// keep current (data-live-parts, element ids). On each change the page is
// fetched again and those parts are swapped in, so what is shown always
// comes from the ordinary, authorised page. A part in which the user is
// typing is left alone until the next change. External file, no inline
// script: the Content-Security-Policy allows script only from 'self'.
(function () {
  "use strict";

  function edited(el) {
    if (el.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    var fields = el.querySelectorAll("textarea, input:not([type=hidden])");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if ((f.type === "checkbox" || f.type === "radio") ? f.checked !== f.defaultChecked : f.value !== f.defaultValue) {
        return true;
      }
    }
    var open = el.querySelector("details[open]");
    return open !== null;
  }

  function start() {
    var root = document.getElementById("live");
    if (!root || !window.EventSource || !window.DOMParser) {
      return;
    }
    var src = root.getAttribute("data-live-src");
    var ids = (root.getAttribute("data-live-parts") || "").split(/\s+/).filter(Boolean);
    var busy = false, again = false, timer = null;

    function refresh() {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (!r.ok) {
            throw new Error("status " + r.status);
          }
          return r.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          ids.forEach(function (id) {
            var cur = document.getElementById(id), next = doc.getElementById(id);
            if (!cur || !next || edited(cur)) {
              return;
            }
            var fresh = document.importNode(next, true);
            if (fresh.isEqualNode(cur)) {
              // Unchanged: leave it, so nothing under the user's pointer
              // is replaced for no reason.
              return;
            }
            cur.replaceWith(fresh);
            if (window.htmx) {
              window.htmx.process(fresh);
            }
          });
          root.setAttribute("data-live-updated", String(Date.now()));
        })
        .catch(function () { /* the next change or resync tries again */ })
        .then(function () {
          busy = false;
          if (again) {
            again = false;
            schedule();
          }
        });
    }

    // Changes come in bursts (one request appends several events): one
    // fetch per burst.
    function schedule() {
      if (timer === null) {
        timer = window.setTimeout(function () {
          timer = null;
          refresh();
        }, 250);
      }
    }

    var es = new EventSource(src);
    es.addEventListener("change", schedule);
    es.addEventListener("resync", schedule);
    es.addEventListener("gone", function () {
      // Access was taken away: show whatever the server says now.
      es.close();
      window.location.reload();
    });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
