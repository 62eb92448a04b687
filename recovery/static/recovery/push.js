/* Web-push opt-in for cart reminders (progressive enhancement: hidden without support). */
(function () {
  var box = document.querySelector('[data-recovery-push]');
  if (!box || !('serviceWorker' in navigator) || !('PushManager' in window)) return;
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : '';
  }
  function key(b64) {
    var pad = '='.repeat((4 - b64.length % 4) % 4);
    var raw = atob((b64 + pad).replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(raw, function (c) { return c.charCodeAt(0); });
  }
  fetch('/r/push/key/').then(function (r) { return r.json(); }).then(function (cfg) {
    if (!cfg.enabled) return;
    box.hidden = false;
    box.querySelector('[data-recovery-push-button]').addEventListener('click', function () {
      navigator.serviceWorker.register('/r/push-sw.js', {scope: '/r/'}).then(function (reg) {
        return reg.pushManager.subscribe({userVisibleOnly: true, applicationServerKey: key(cfg.publicKey)});
      }).then(function (sub) {
        return fetch('/r/push/subscribe/', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf()}, body: JSON.stringify(sub)});
      }).then(function () { box.hidden = true; });
    });
  });
})();
