// Registers the portal's service worker (static assets only; see sw.js).
(function () {
  var script = document.currentScript;
  if (!("serviceWorker" in navigator) || !script) return;
  var url = script.dataset.sw, scope = script.dataset.scope;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(url, { scope: scope }).catch(function () {});
  });
})();
