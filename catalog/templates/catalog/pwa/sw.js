/* Koszyk service worker {{ version }}: caches the shell and static files so the shop installs
   and opens offline. Never caches the cart, checkout, account, admin, downloads or any POST. */
"use strict";
const VERSION = "{{ version }}";
const SHELL = "koszyk-shell-" + VERSION;
const STATIC = "koszyk-static-" + VERSION;
const SHELL_URLS = [{% for url in shell %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
const OFFLINE_URL = "{{ offline_url|escapejs }}";
const NEVER = [/^\/koszyk/, /^\/zamowienie/, /^\/konto/, /^\/admin/, /^\/pobierz/, /^\/powiadomienia/, /^\/api/, /^\/r\//];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_URLS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== SHELL && k !== STATIC).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (NEVER.some((re) => re.test(url.pathname))) return;
  if (url.pathname.startsWith("/static/")) {
    // Static files have hashed names: cache first.
    event.respondWith(
      caches.open(STATIC).then((cache) =>
        cache.match(request).then((hit) => hit || fetch(request).then((response) => {
          if (response.ok) cache.put(request, response.clone());
          return response;
        }))
      )
    );
    return;
  }
  if (request.mode === "navigate") {
    // Pages: always the network (prices and stock change); the offline page when there is none.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL)));
  }
});
