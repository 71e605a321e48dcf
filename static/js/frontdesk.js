// Front-desk conveniences. The server does the real work (and refuses a second submission of the
// same form); this only keeps a double click from sending twice and helps the keyboard.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) { return; }
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.setAttribute("aria-busy", "true"); });
  });
  // "/" puts the cursor in the page's search box, as in most tools staff already know.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.target.closest("input, textarea, select")) { return; }
    var search = document.querySelector("input[type=search]");
    if (search) { event.preventDefault(); search.focus(); search.select(); }
  });
  // A suggestion's "Add to bill" on the checkout page puts the item on the first empty line (the
  // totals follow, as on any change); elsewhere, or with every line taken, the link opens the
  // checkout with the item on the bill.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-add-item]");
    var form = document.getElementById("checkout-form");
    if (!link || !form) { return; }
    var empty = Array.prototype.find.call(form.querySelectorAll("table.lines select"), function (select) {
      return select.value === "";
    });
    if (!empty) { return; }
    event.preventDefault();
    empty.value = link.dataset.addItem;
    empty.dispatchEvent(new Event("change", { bubbles: true }));
    link.setAttribute("aria-disabled", "true");
    link.closest(".suggestion").classList.add("added");
  });
  // The schedule exception form shows only the field its kind needs (whose leave, which room or
  // device, which location); the server keeps only that one anyway.
  function showTargets(form) {
    var kind = form.querySelector("[name=kind]").value;
    form.querySelectorAll("[data-kinds]").forEach(function (box) {
      box.hidden = box.dataset.kinds.split(" ").indexOf(kind) === -1;
    });
  }
  document.querySelectorAll("form[data-exception-form]").forEach(function (form) {
    showTargets(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") { showTargets(form); }
    });
  });
})();
