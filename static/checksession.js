// The check_session_iframe of OpenID Session Management 1.0 §3.2. The
// relying party's page (our parent) posts "client_id session_state"; we
// recompute session_state with the message's origin, as the browser
// reports it, and the browser-state cookie, and answer "unchanged",
// "changed" or "error". A session_state issued for another origin, or
// before a sign-in or sign-out on this browser, does not match: "changed".
(function () {
  "use strict";
  var cookieName = document.documentElement.getAttribute("data-browser-state-cookie");

  function browserState() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === cookieName) {
        return parts[i].slice(eq + 1);
      }
    }
    return "";
  }

  function hex(buf) {
    var bytes = new Uint8Array(buf), out = "";
    for (var i = 0; i < bytes.length; i++) {
      out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    }
    return out;
  }

  window.addEventListener("message", function (e) {
    // Only our parent asks (§3.2: the caller must be the parent frame).
    if (e.source !== window.parent) {
      return;
    }
    var answer = function (status) { e.source.postMessage(status, e.origin); };
    var data = typeof e.data === "string" ? e.data.split(" ") : [];
    var clientID = data[0] || "", state = data[1] || "";
    var dot = state.lastIndexOf(".");
    if (data.length !== 2 || !clientID || dot < 1 || !window.crypto || !window.crypto.subtle) {
      answer("error");
      return;
    }
    var salt = state.slice(dot + 1);
    var input = clientID + " " + e.origin + " " + browserState() + " " + salt;
    window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(input)).then(function (sum) {
      answer(hex(sum) + "." + salt === state ? "unchanged" : "changed");
    }, function () {
      answer("error");
    });
  });
})();
