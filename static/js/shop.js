// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // <select data-autosubmit> (the language switch) submits its form on change (no inline handler: CSP).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  if ("serviceWorker" in navigator) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js").catch(function () {});
    });
  }
})();
