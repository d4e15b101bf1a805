/* linuxreport service worker: the last visited front page and its assets open offline. */
"use strict";
var CACHE = "lr-" + {{ version | tojson }};
var PRECACHE = {{ precache | tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(PRECACHE);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf("lr-") === 0 && k !== CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" || request.url.indexOf("version.json") !== -1) {
    /* Pages: the network first, the last copy when offline. */
    event.respondWith(fetch(request).then(function (response) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      return response;
    }).catch(function () {
      return caches.match(request).then(function (hit) {
        return hit || caches.match("./");
      });
    }));
    return;
  }
  /* Hashed assets never change: the cache first. */
  event.respondWith(caches.match(request).then(function (hit) {
    return hit || fetch(request);
  }));
});
