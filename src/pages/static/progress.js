// Moves a background job's progress bar while its staff page is open: polls the job's JSON
// and, once the job has ended, reloads the page to show its result. An enhancement: without
// JavaScript the page's "Check progress" link does the same by hand.
(function () {
  "use strict";
  var el = document.querySelector("[data-job-poll]");
  if (!el || !window.fetch) return;
  var url = el.getAttribute("data-job-poll");
  var bar = el.querySelector("progress");
  var text = el.querySelector("[data-job-text]");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) { setTimeout(tick, 3000); return; }
        if (j.state === "done" || j.state === "failed") { window.location.reload(); return; }
        if (j.total > 0) { bar.max = j.total; bar.value = j.progress; }
        bar.textContent = j.text;
        if (text.textContent !== j.text) text.textContent = j.text;
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
