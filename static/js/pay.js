// The customer's return page while ETpay's notification is on its way. It
// asks the server for this same page every few seconds and, once the outcome
// is known, shows it in place: no reload under the customer (a <meta refresh>
// fails WCAG 2.2.1), and the status line is a live region that keeps its
// element, so screen readers announce the outcome. Without JavaScript the
// "check again" button does the same by hand.
(function () {
  "use strict";
  var card = document.querySelector('[data-pay-state="pending"]');
  if (!card || !window.fetch || !window.DOMParser) {
    return;
  }
  // After 1 s, 2 s, 3 s, then every 4 s for about three minutes; then the
  // button is left to the customer.
  var tries = 0;
  var maxTries = 48;

  function show(doc, next) {
    var status = card.querySelector('[role="status"]');
    var nextStatus = next.querySelector('[role="status"]');
    var heading = card.querySelector("h1");
    var nextHeading = next.querySelector("h1");
    if (!status || !nextStatus || !heading || !nextHeading) {
      return; // not the page we know: leave the button to the customer
    }
    var hadFocus = card.contains(document.activeElement) && document.activeElement !== document.body;
    Array.prototype.forEach.call(card.querySelectorAll(".pay-action"), function (el) {
      el.parentNode.removeChild(el);
    });
    Array.prototype.forEach.call(next.querySelectorAll(".pay-action"), function (el) {
      card.appendChild(document.importNode(el, true)); // server-rendered, escaped by html/template
    });
    heading.textContent = nextHeading.textContent;
    document.title = doc.title;
    card.setAttribute("data-pay-state", next.getAttribute("data-pay-state"));
    status.className = nextStatus.className;
    status.textContent = nextStatus.textContent; // textContent: never parsed as HTML
    if (hadFocus) {
      var action = card.querySelector(".pay-action a");
      if (action) {
        action.focus();
      }
    }
  }

  function check() {
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("status " + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("[data-pay-state]");
        if (next && next.getAttribute("data-pay-state") !== "pending") {
          show(doc, next);
          return;
        }
        later();
      }, later);
  }

  function later() {
    tries++;
    if (tries <= maxTries) {
      setTimeout(check, Math.min(tries, 4) * 1000);
    }
  }

  later();
})();
