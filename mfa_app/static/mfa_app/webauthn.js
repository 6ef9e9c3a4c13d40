// Security keys and passkeys. A page embeds the server's options (json_script) and a form
// with a hidden field; this file runs navigator.credentials.create() or .get() and posts the
// result in that field, so the form's CSRF token and the server's checks apply as usual.
// The passkey login form (form[data-passkey-login]) fetches its options when its button is
// pressed instead, so that a login page does not start a challenge for every visitor; only
// where the browser offers passkey autofill (conditional mediation) does the page fetch them
// at once, for a request that waits for the person to pick a passkey in the username field.
// Every message lives in the page, already translated: this file only shows or hides them.
(function () {
  "use strict";

  // --- base64url <-> ArrayBuffer ------------------------------------------------------------

  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // --- options in, credential out -----------------------------------------------------------

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBuffer(item.id) });
    });
  }

  function publicKeyOptions(json, creating) {
    var options = Object.assign({}, json, { challenge: toBuffer(json.challenge) });
    if (creating) {
      options.user = Object.assign({}, json.user, { id: toBuffer(json.user.id) });
      options.excludeCredentials = descriptors(json.excludeCredentials);
    } else {
      options.allowCredentials = descriptors(json.allowCredentials);
    }
    return options;
  }

  // The shape of PublicKeyCredential.toJSON(), built by hand: older browsers lack toJSON, and
  // some password-manager extensions return credentials whose toJSON is incomplete.
  function credentialJSON(credential, creating) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: {},
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (creating) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      json.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
    }
    return json;
  }

  function failure(error, creating) {
    var name = error && error.name;
    // NotAllowedError covers both "cancelled" and "timed out": browsers do not tell them apart.
    if (name === "NotAllowedError" || name === "AbortError") return "cancelled";
    if (creating && name === "InvalidStateError") return "already-registered";
    return "failed";
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials);

  // One form: ``getOptions`` returns a promise of the options' JSON; ``adjust`` may change
  // the options just before the browser gets them.
  function ceremony(form, creating, getOptions, adjust) {
    var field = form.querySelector("[data-webauthn-response]");
    var button = form.querySelector("[data-webauthn-start]");
    var busy = false;

    function show(name) {
      var nodes = form.querySelectorAll("[data-webauthn-message]");
      for (var i = 0; i < nodes.length; i++) {
        nodes[i].hidden = nodes[i].getAttribute("data-webauthn-message") !== name;
      }
    }

    if (!supported || !field) {
      // Passkey sign-in is an extra way in: where it cannot work, leave only the password form.
      var block = form.hasAttribute("data-passkey-login") && form.closest("[data-passkey-block]");
      if (block) {
        block.hidden = true;
        return;
      }
      show("unsupported");
      if (button) button.disabled = true;
      return;
    }

    // Coming back through the browser's history must not post an old response again.
    window.addEventListener("pageshow", function () {
      field.value = "";
      busy = false;
    });

    form.addEventListener("submit", function (event) {
      if (field.value) return; // The response is in: let the form post it.
      event.preventDefault();
      if (busy) return;
      busy = true;
      show("waiting");
      getOptions()
        .then(function (json) {
          var publicKey = publicKeyOptions(json, creating);
          if (adjust) adjust(publicKey);
          return creating
            ? navigator.credentials.create({ publicKey: publicKey })
            : navigator.credentials.get({ publicKey: publicKey });
        })
        .then(function (credential) {
          field.value = JSON.stringify(credentialJSON(credential, creating));
          show("sending");
          form.submit();
        })
        .catch(function (error) {
          busy = false;
          show(failure(error, creating));
        });
    });
  }

  // --- a second factor, or adding a key: options embedded in the page -----------------------

  var form = document.querySelector("form[data-webauthn]");
  var optionsNode = document.getElementById("mfa-webauthn-options");
  if (form && optionsNode) {
    var creating = form.getAttribute("data-webauthn") === "create";
    var passkeyBox = form.querySelector("[data-webauthn-passkey]");
    ceremony(
      form,
      creating,
      function () {
        return Promise.resolve(JSON.parse(optionsNode.textContent));
      },
      function (publicKey) {
        // "Use as a passkey": a discoverable credential that verifies the user, so it can be
        // the whole login. Otherwise spare security keys' few discoverable-credential slots.
        if (creating && passkeyBox && passkeyBox.checked) {
          publicKey.authenticatorSelection = Object.assign({}, publicKey.authenticatorSelection, {
            residentKey: "required",
            requireResidentKey: true,
            userVerification: "required"
          });
        }
      }
    );
  }

  // --- sign in with a passkey: options fetched when the button is pressed -------------------

  var loginForm = document.querySelector("form[data-passkey-login]");
  if (loginForm) {
    var fetchLoginOptions = function () {
      return window
        .fetch(loginForm.getAttribute("data-options-url"), {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          cache: "no-store"
        })
        .then(function (response) {
          if (!response.ok) throw new Error("options");
          return response.json();
        });
    };
    var autofill = null;
    ceremony(loginForm, false, function () {
      // One WebAuthn request at a time: the button's request replaces the autofill's.
      if (autofill) autofill.abort();
      autofill = null;
      return fetchLoginOptions();
    });
    offerPasskeyAutofill(loginForm, fetchLoginOptions, function (controller) {
      autofill = controller;
    });
  }

  // --- passkey autofill: the browser lists passkeys under the username field ----------------
  // Conditional mediation: a request that waits, without any dialog, until the person picks a
  // passkey from the username field's suggestions (autocomplete="username webauthn"). Only
  // where the browser says it can; a cancelled or failed one leaves the page as it was.

  function offerPasskeyAutofill(form, getOptions, keep) {
    var field = form.querySelector("[data-webauthn-response]");
    var input = document.querySelector('input[autocomplete~="webauthn"]');
    var check = window.PublicKeyCredential && PublicKeyCredential.isConditionalMediationAvailable;
    if (!supported || !field || !input || !check || !window.AbortController) return;
    PublicKeyCredential.isConditionalMediationAvailable()
      .then(function (available) {
        if (!available) return null;
        var controller = new AbortController();
        keep(controller);
        form.setAttribute("data-passkey-autofill", "waiting");
        return getOptions().then(function (json) {
          if (controller.signal.aborted) return null;
          return navigator.credentials.get({
            publicKey: publicKeyOptions(json, false),
            mediation: "conditional",
            signal: controller.signal
          });
        });
      })
      .then(function (credential) {
        if (!credential) return;
        field.value = JSON.stringify(credentialJSON(credential, false));
        form.submit();
      })
      .catch(function () {
        // Aborted for the button's request, or the browser gave up: nothing to show.
        form.removeAttribute("data-passkey-autofill");
      });
  }
})();
