// Live sessions table: listens to /admin/events (Server-Sent Events) and
// updates rows in place. Text goes in with textContent only; new rows and
// catch-ups fetch the server-rendered page again (escaped by html/template).
// Without JavaScript the page is an ordinary table that a reload refreshes.
(function () {
  "use strict";
  if (!window.EventSource || !document.querySelector("[data-live-sessions]")) {
    return;
  }
  var firstPage = !/[?&](after|before)=/.test(location.search);
  var refetchTimer = null;

  function setText(row, field, text) {
    var cell = row.querySelector('[data-field="' + field + '"]');
    if (!cell) {
      return;
    }
    // Keep links, badges and shortened tokens: put the text in the innermost
    // element (a shortened token keeps its whole value in its title).
    var target = cell.querySelector("a, .badge, .clip") || cell;
    target.textContent = text;
    if (target.classList.contains("clip")) {
      target.title = text;
    }
  }

  function update(row, data) {
    var shown = Number(row.getAttribute("data-version") || 0);
    if (data.version && data.version < shown) {
      return; // an older change that arrived late
    }
    row.setAttribute("data-version", String(data.version || 0));
    setText(row, "merchant_order_id", data.merchant_order_id);
    setText(row, "amount", data.amount);
    setText(row, "payment_token", data.payment_token);
    setText(row, "created_at", data.created_at);
    setText(row, "paid_at", data.paid_at);
    setText(row, "last_notification", data.last_notification);
    var badge = row.querySelector('[data-field="status"] .badge');
    if (badge) {
      badge.className = "badge badge-" + data.status;
      badge.textContent = data.status_label;
    } else {
      setText(row, "status", data.status_label);
    }
    row.setAttribute("data-status", data.status);
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("flash");
  }

  // refetch swaps in the server's current version of the table.
  function refetch() {
    clearTimeout(refetchTimer);
    refetchTimer = setTimeout(function () {
      fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-live-sessions]");
          var current = document.querySelector("[data-live-sessions]");
          if (fresh && current) {
            current.replaceWith(document.importNode(fresh, true));
          }
        })
        .catch(function () { /* the next event or reconnect tries again */ });
    }, 250);
  }

  var source = new EventSource("/admin/events");
  source.addEventListener("session", function (e) {
    var data;
    try {
      data = JSON.parse(e.data);
    } catch (err) {
      return;
    }
    var row = document.getElementById("session-" + data.id);
    if (row) {
      update(row, data);
    } else if (firstPage) {
      refetch();
    }
  });
  // Too far behind (or the server restarted): fetch the table again.
  source.addEventListener("resync", refetch);
})();
