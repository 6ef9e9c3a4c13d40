// A wait the server put in the page ("You can ask for a new code in 0:42"), counted down.
// data-mfa-countdown: the seconds left when the page was made; data-mfa-disables: a selector
// of the buttons that would only be refused until then (disabled here, so without this
// script they still work and the server says why); data-mfa-done: the text shown at 0.
(function () {
  "use strict";

  function clock(seconds) {
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function start(node) {
    var ends = Date.now() + Number(node.dataset.mfaCountdown) * 1000;
    var shown = node.querySelector("[data-mfa-clock]");
    var buttons = node.dataset.mfaDisables
      ? Array.prototype.slice.call(document.querySelectorAll(node.dataset.mfaDisables))
      : [];

    function tick() {
      var left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
      buttons.forEach(function (button) {
        button.disabled = left > 0;
      });
      if (left > 0) {
        if (shown) shown.textContent = clock(left);
        window.setTimeout(tick, 250);
      } else if (node.dataset.mfaDone) {
        node.textContent = node.dataset.mfaDone;
      } else {
        node.hidden = true;
      }
    }
    tick();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-mfa-countdown]"), start);
})();
