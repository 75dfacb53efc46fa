// The service worker: keeps the app shell on the device so the site opens offline (or
// when the service is out of reach) and shows the current rental and its due date, which
// the page saves in localStorage whenever it sees them.
//
// Network first, always: a renter online gets today's files and answers, and the cache
// is only the fallback. The API is never cached or answered from here (a stale rental or
// login would be worse than an honest "offline").

// web-proxy serves this file with the version of the front-end's files in place of the
// placeholder below and with their content-hashed names in the list, so every deploy
// that changes a file changes this worker: the browser installs it, it caches that
// deploy's files, and on activation drops the previous deploy's cache. A cached copy is
// only ever the file of its own name, never yesterday's script under today's name.
// The operators' console is not cached: renters never download it.
const VERSION = "__UPBRELLA_ASSETS_VERSION__";
const SHELL = `upbrella-shell-${VERSION}`;
const FILES = [
  "/", "/index.html", "/app.js", "/app-session.js", "/app-stores.js", "/app-account.js", "/app-rent.js", "/app-me.js",
  "/app-pages.js", "/ui.js", "/i18n.js", "/style.css", "/manifest.webmanifest",
  "/img/umbrella.svg", "/img/icon-192.png", "/img/icon-512.png", "/img/icon-maskable-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== SHELL).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    // Every page of the app is index.html; offline, the cached one.
    event.respondWith(fetch(request).catch(() => caches.match("/index.html").then((r) => r || caches.match("/"))));
    return;
  }
  if (!FILES.includes(url.pathname)) return;
  event.respondWith(fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(SHELL).then((cache) => cache.put(url.pathname, copy));
    }
    return response;
  }).catch(() => caches.match(url.pathname).then((r) => r || Response.error())));
});
