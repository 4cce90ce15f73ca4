// A visible countdown on a timed test: only an enhancement. The server's clock decides
// what counts; without this script the page shows the deadline as a time of day.
(function () {
  var el = document.querySelector('[data-seconds-left]');
  if (!el) { return; }
  var left = parseInt(el.getAttribute('data-seconds-left'), 10);
  var out = el.querySelector('[data-countdown]');
  var started = Date.now();
  var lastSaid = null;
  function tick() {
    var remaining = Math.max(0, left - Math.floor((Date.now() - started) / 1000));
    var m = Math.floor(remaining / 60), s = remaining % 60;
    out.textContent = m + ' minute' + (m === 1 ? '' : 's') + ' ' + s + ' second' + (s === 1 ? '' : 's') + ' left';
    // Screen readers hear the time at whole 5 minutes and the last minute, not every second.
    var say = remaining <= 60 ? 'last minute' : (m % 5 === 0 && s === 0 ? m : null);
    if (say !== null && say !== lastSaid) { lastSaid = say; el.setAttribute('aria-live', 'polite'); } else { el.setAttribute('aria-live', 'off'); }
    if (remaining > 0) { setTimeout(tick, 1000); }
  }
  el.hidden = false;
  tick();
})();
