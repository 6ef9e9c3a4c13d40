// Progressive enhancement: a Copy button for the recovery codes page.
(function () {
  "use strict";
  var button = document.querySelector("[data-copy-codes]");
  var list = document.getElementById("mfa-codes");
  if (!button || !list || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (el) {
      return el.textContent;
    });
    navigator.clipboard.writeText(codes.join("\n") + "\n").then(function () {
      var note = document.querySelector("[data-copied]");
      if (note) note.hidden = false;
    });
  });
})();
