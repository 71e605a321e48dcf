{% load static %}// The portal's service worker: caches the static assets (styles, script, icons) so the portal
// opens fast; never a page or anything else about the member, which always comes from the network.
const CACHE = "portal-static-v1";
const ASSETS = ["{% static 'css/portal.css' %}", "{% static 'vendor/htmx/htmx.min.js' %}",
                "{% static 'portal/icons.svg' %}", "{% static 'portal/icon-192.png' %}"];
const STATIC_PREFIX = "{% get_static_prefix %}";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys().then((keys) => Promise.all(
    keys.filter((key) => key !== CACHE).map((key) => caches.delete(key)))).then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith(STATIC_PREFIX)) {
    return;  // pages and member data: straight to the network, never cached
  }
  event.respondWith(caches.match(event.request).then((hit) => hit || fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(event.request, copy));
    }
    return response;
  })));
});
