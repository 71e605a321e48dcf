// The segment editor: numbers new condition rows, removes rows, and asks for a new count after
// either (the count itself comes from the server, see segments.views.SegmentPreviewView).
(function () {
  let next = null;
  window.segmentNextIndex = function () {
    if (next === null) {
      const select = document.getElementById("new-kind");
      next = parseInt(select ? select.dataset.nextIndex : "0", 10) || 0;
    }
    return next++;
  };
  document.addEventListener("click", function (event) {
    const button = event.target.closest(".remove-condition");
    if (!button) return;
    const form = button.closest("form");
    button.closest(".condition").remove();
    if (form && window.htmx) window.htmx.trigger(form, "conditions-changed");
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "conditions" && window.htmx) {
      window.htmx.trigger(document.getElementById("segment-form"), "conditions-changed");
    }
  });
})();
