/* Tell the shop this visitor's time zone once per session: reminders respect quiet hours there. */
(function () {
  try {
    if (sessionStorage.getItem('recovery-tz')) return;
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (!tz) return;
    var body = new URLSearchParams({tz: tz});
    fetch('/r/tz/', {method: 'POST', body: body, credentials: 'same-origin'}).then(function () {
      sessionStorage.setItem('recovery-tz', '1');
    });
  } catch (e) { /* never break the page */ }
})();
