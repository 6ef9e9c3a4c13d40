// The enrollment menu recommends a passkey; a browser without WebAuthn cannot make one, so the
// mark moves to the best factor it can use (flows.enrollment.choices decides which).
(function () {
  "use strict";
  if (window.PublicKeyCredential) return;
  document.querySelectorAll("[data-recommended=webauthn]").forEach(function (badge) {
    badge.hidden = true;
  });
  document.querySelectorAll("[data-recommended=no-webauthn]").forEach(function (badge) {
    badge.hidden = false;
  });
})();
