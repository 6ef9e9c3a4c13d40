// A self-hosted front end in plain JavaScript: sign in, pass the challenge or enroll an
// authenticator app, all through mfa_app's JSON API. It stands for a site's React or mobile
// app: no template of mfa_app is used, only fetch() and the JSON bodies.
// Server text is always set with textContent, never as HTML.
(function () {
  "use strict";

  var root = document.getElementById("self-hosted");
  var urls = {
    login: root.dataset.loginUrl,
    logout: root.dataset.logoutUrl,
    me: root.dataset.meUrl,
    api: root.dataset.apiUrl,
  };
  var LABELS = {
    TOTP: "Authenticator app",
    SMS: "Text message",
    EMAIL: "Email",
    RECOVERY: "Recovery code",
  };

  // --- talking to the server ----------------------------------------------------------------

  function csrfToken() {
    // Django rotates the token at login: read the cookie before every request.
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function call(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response
        .json()
        .catch(function () {
          return {};
        })
        .then(function (data) {
          return { status: response.status, data: data };
        });
    });
  }

  function errorText(data) {
    var error = data && data.error;
    if (!error) return "Something went wrong. Please try again.";
    var text = error.message || error.code;
    if (error.attempts_left !== undefined) text += " (" + error.attempts_left + " tries left)";
    return text;
  }

  function waitSeconds(result) {
    // Too many wrong codes: a 429 whose error says how long (retry_after, also the
    // Retry-After header) and until when (locked_until).
    var error = result.data && result.data.error;
    return result.status === 429 && error && error.retry_after ? Number(error.retry_after) : 0;
  }

  function clock(seconds) {
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  // --- building the page --------------------------------------------------------------------

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") node.textContent = attributes[name];
      else node.setAttribute(name, attributes[name]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  function screen(title, children) {
    root.replaceChildren(el("h1", { text: title }));
    children.forEach(function (child) {
      root.appendChild(child);
    });
    var first = root.querySelector("input");
    if (first) first.focus();
  }

  function field(label, name, attributes) {
    var input = el(
      "input",
      Object.assign({ type: "text", name: name, id: "sh-" + name }, attributes || {}),
    );
    return el("div", { class: "mfa-field" }, [el("label", { for: "sh-" + name, text: label }), input]);
  }

  function form(children, button, onSubmit, extra) {
    var problem = el("div", { class: "mfa-alert", role: "alert", hidden: "" });
    var submit = el("button", { type: "submit", class: "mfa-button mfa-button-primary", text: button });
    var node = el("form", { novalidate: "" }, [problem].concat(children, [submit], extra || []));
    var timer = null;
    node.addEventListener("submit", function (event) {
      event.preventDefault();
      submit.disabled = true;
      problem.hidden = true;
      onSubmit(node, function (message, wait) {
        problem.textContent = message;
        problem.hidden = false;
        submit.disabled = false;
        if (wait) countDown(wait);
      });
    });

    function countDown(seconds) {
      // The server refuses every answer until then: say how long, and keep Verify off.
      var ends = Date.now() + seconds * 1000;
      var shown = el("span", { class: "sh-wait", "aria-live": "off", dir: "ltr" });
      problem.appendChild(el("p", {}, [document.createTextNode("Try again in "), shown]));
      window.clearTimeout(timer);
      (function tick() {
        var left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
        submit.disabled = left > 0;
        if (left > 0) {
          shown.textContent = clock(left) + ".";
          timer = window.setTimeout(tick, 250);
        } else {
          shown.parentNode.textContent = "You can try again now.";
        }
      })();
    }
    return node;
  }

  function value(node, name) {
    return node.elements[name].value.trim();
  }

  // --- what the server says decides what comes next -----------------------------------------

  function follow(result) {
    var data = result.data || {};
    if (data.status === "MFA_REQUIRED") return showChallenge(data.challenge);
    if (data.status === "MFA_ENROLLMENT_REQUIRED") return showEnroll();
    if (result.status === 200) return refresh();
    return showLogin(errorText(data));
  }

  function refresh() {
    // Any JSON endpoint of the site answers a half-finished login with its MFA status.
    return call("GET", urls.me).then(function (result) {
      if (result.status === 200) return showSignedIn(result.data.username);
      if (result.data && result.data.status) return follow(result);
      return showLogin();
    });
  }

  function showLogin(message) {
    var login = form(
      [
        field("Username", "username", { autocomplete: "username", required: "" }),
        field("Password", "password", {
          type: "password",
          autocomplete: "current-password",
          required: "",
        }),
      ],
      "Sign in",
      function (node, fail) {
        call("POST", urls.login, {
          username: value(node, "username"),
          password: value(node, "password"),
        }).then(function (result) {
          if (result.status === 400) return fail(errorText(result.data));
          follow(result);
        });
      },
    );
    screen("Sign in (self-hosted page)", [login]);
    if (message) {
      var problem = login.querySelector("[role=alert]");
      problem.textContent = message;
      problem.hidden = false;
    }
  }

  function showChallenge(challenge, chosen, note) {
    var factors = challenge.factors;
    var method = chosen || factors[0];
    var isCode = method.type === "SMS" || method.type === "EMAIL";
    var where = method.destination ? " sent to " + method.destination : "";
    var prompt = isCode
      ? "Enter the code" + where + "."
      : method.type === "RECOVERY"
        ? "Enter one of your recovery codes."
        : "Enter the 6-digit code from your authenticator app.";
    var codeAttributes = { autocomplete: "one-time-code", required: "", spellcheck: "false" };
    if (method.type !== "RECOVERY") {
      // Digits only: phones show their number pad.
      codeAttributes.inputmode = "numeric";
      codeAttributes.pattern = "[0-9 ]*";
    }
    var cancel = el("button", { type: "button", class: "mfa-button mfa-button-link", text: "Cancel" });
    cancel.addEventListener("click", function () {
      // Drops the half-finished login on the server; the password is asked for again.
      call("POST", urls.api + "challenge/cancel/").then(function () {
        showLogin();
      });
    });
    var answer = form(
      [
        el("p", { text: prompt }),
        field("Code", "code", codeAttributes),
        el("label", { class: "mfa-check" }, [
          el("input", { type: "checkbox", name: "remember" }),
          document.createTextNode(" Remember this device"),
        ]),
      ],
      "Verify",
      function (node, fail) {
        call("POST", urls.api + "challenge/verify/", {
          challenge_id: challenge.id,
          factor: method.type,
          device_id: method.device_id || undefined,
          code: value(node, "code"),
          remember_device: node.elements.remember.checked,
        }).then(function (result) {
          if (result.data.valid) {
            var codes = result.data.recovery_codes;
            return codes && codes.length ? showRecoveryCodes(codes) : refresh();
          }
          if (result.status === 400 || result.status === 429) {
            node.elements.code.value = "";
            node.elements.code.focus();
            return fail(errorText(result.data), waitSeconds(result));
          }
          showLogin(errorText(result.data));
        });
      },
      [cancel],
    );
    var others = factors
      .filter(function (other) {
        return other !== method;
      })
      .map(function (other) {
        var label = LABELS[other.type] || other.type;
        if (other.destination) label += " (" + other.destination + ")";
        var button = el("button", {
          type: "button",
          class: "mfa-button mfa-button-link",
          text: "Use " + label,
        });
        button.addEventListener("click", function () {
          choose(challenge, other);
        });
        return el("li", {}, [button]);
      });
    var children = [answer];
    if (note) children.unshift(el("p", { class: "mfa-help", text: note }));
    if (others.length) children.push(el("ul", { class: "mfa-switch mfa-other-factors" }, others));
    screen("Two-step verification", children);
  }

  function choose(challenge, method) {
    if (method.type !== "SMS" && method.type !== "EMAIL") return showChallenge(challenge, method);
    // Codes by text or email are sent when the user picks that way to answer.
    call("POST", urls.api + "challenge/", {
      factor: method.type,
      device_id: method.device_id,
    }).then(function (result) {
      var note = result.status < 300 ? "" : errorText(result.data);
      showChallenge(challenge, method, note);
    });
  }

  function showEnroll() {
    call("POST", urls.api + "enroll/totp/", {}).then(function (result) {
      if (result.status !== 200) return showLogin(errorText(result.data));
      var setup = result.data;
      var confirm = form(
        [
          el("p", { text: "Scan this QR code with your authenticator app, then enter its code." }),
          el("img", { src: setup.qr_code, alt: "QR code for your authenticator app", width: "200" }),
          el("p", {}, [
            document.createTextNode("Or type this key: "),
            el("code", { class: "sh-secret", text: setup.secret }),
          ]),
          field("Code", "code", {
            autocomplete: "one-time-code",
            inputmode: "numeric",
            pattern: "[0-9 ]*",
            spellcheck: "false",
          }),
        ],
        "Turn on",
        function (node, fail) {
          call("POST", urls.api + "enroll/totp/confirm/", { code: value(node, "code") }).then(
            function (done) {
              if (done.status !== 201) return fail(errorText(done.data));
              var codes = done.data.recovery_codes;
              return codes && codes.length ? showRecoveryCodes(codes) : refresh();
            },
          );
        },
      );
      screen("Set up two-step verification", [confirm]);
    });
  }

  function showRecoveryCodes(codes) {
    var list = el(
      "ol",
      { class: "mfa-codes" },
      codes.map(function (code) {
        return el("li", {}, [el("code", { text: code })]);
      }),
    );
    var next = el("button", {
      type: "button",
      class: "mfa-button mfa-button-primary",
      text: "I saved my codes",
    });
    next.addEventListener("click", refresh);
    screen("Save your recovery codes", [
      el("p", { text: "Each code signs you in once if you lose your phone. Keep them safe." }),
      list,
      next,
    ]);
  }

  function showSignedIn(username) {
    call("GET", urls.api + "status/").then(function (result) {
      var status = result.data || {};
      var factors = (status.factors || []).map(function (factor) {
        return el("li", { text: factor.name + " (" + (LABELS[factor.type] || factor.type) + ")" });
      });
      var logout = el("button", { type: "button", class: "mfa-button", text: "Sign out" });
      logout.addEventListener("click", function () {
        call("POST", urls.logout).then(function () {
          showLogin();
        });
      });
      screen("Signed in", [
        el("p", { class: "sh-welcome", text: "You are signed in as " + username + "." }),
        el("p", {
          text:
            "Two-step verification is " +
            (status.enabled ? "on" : "off") +
            "; recovery codes left: " +
            (status.recovery_codes_remaining || 0) +
            ".",
        }),
        el("ul", { class: "sh-factors" }, factors),
        logout,
      ]);
    });
  }

  refresh();
})();
