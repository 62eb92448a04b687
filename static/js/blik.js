/* BLIK pages (progressive enhancement).
 *
 * Code form: keeps only digits (a pasted "123 456" works), and a second click while the first
 * submit is on its way does nothing (the server also refuses to charge a code twice).
 * Waiting page: polls the shop's own order status endpoint -- the order turns paid only when the
 * gateway's verified notification arrived -- and counts down the time to confirm; without
 * JavaScript the page refreshes itself instead.
 */
(function () {
  "use strict";

  var form = document.getElementById("blik-form");
  if (form) {
    var input = form.querySelector("[name=code]");
    input.addEventListener("input", function () {
      var digits = input.value.replace(/\D/g, "").slice(0, 6);
      var shown = digits.length > 3 ? digits.slice(0, 3) + " " + digits.slice(3) : digits;
      if (input.value !== shown) input.value = shown;
    });
    var sent = false;
    form.addEventListener("submit", function (event) {
      if (sent) { event.preventDefault(); return; }
      sent = true;
      var button = form.querySelector("[type=submit]");
      if (button) button.setAttribute("aria-busy", "true");
    });
  }

  var box = document.getElementById("blik-waiting");
  if (!box) return;
  var statusUrl = box.dataset.statusUrl;
  var pollMs = Math.max(1000, parseInt(box.dataset.pollMs, 10) || 3000);
  var left = parseInt(box.dataset.secondsLeft, 10) || 0;
  var secondsEl = box.querySelector("[data-seconds]");
  var timer = null;

  function show(state) {
    box.dataset.state = state;
    box.querySelectorAll("[data-when]").forEach(function (el) { el.hidden = el.dataset.when !== state; });
    box.querySelectorAll("[data-when-not]").forEach(function (el) { el.hidden = el.dataset.whenNot === state; });
  }

  function tick() {
    if (left > 0) {
      left -= 1;
      if (secondsEl) secondsEl.textContent = String(left);
    }
  }

  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { schedule(); return; }
        if (data.paid) { show("paid"); clearInterval(timer); return; }
        left = data.seconds_left;
        if (secondsEl) secondsEl.textContent = String(left);
        show(data.waiting ? "waiting" : "idle");
        if (data.waiting || data.status === "awaiting_payment") schedule();
      })
      .catch(function () { schedule(); });
  }

  function schedule() { setTimeout(poll, pollMs); }

  if (box.dataset.state !== "paid") {
    timer = setInterval(tick, 1000);
    schedule();
  }
})();
