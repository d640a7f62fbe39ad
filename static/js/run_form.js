// Run form: a slider shows its value next to it while it moves.
document.querySelectorAll("input[data-slider]").forEach(function (el) {
  var out = el.parentNode.querySelector("[data-slider-value]");
  el.addEventListener("input", function () { if (out) out.textContent = el.value; });
});

// Several values for an input make a sweep: say how many runs the grid makes before it is
// sent (the server counts again, and refuses a grid over the cap).
(function () {
  var fields = Array.prototype.slice.call(document.querySelectorAll("input[data-sweep]"));
  var out = document.getElementById("sweep-count");
  var button = document.querySelector("button[data-run-button]");
  if (!fields.length || !out || !button) return;
  var max = parseInt(out.getAttribute("data-max"), 10) || 0;

  // How many values one field holds: a JSON list (a JSON input, or text starting with "["),
  // else the non-blank items between commas. null: not a list yet.
  function count(el) {
    var text = el.value.trim();
    if (!text) return 0;
    if (el.getAttribute("data-type") === "json" || text.charAt(0) === "[") {
      try {
        var list = JSON.parse(text);
        return Array.isArray(list) ? list.length : null;
      } catch (e) {
        return null;
      }
    }
    return text.split(",").filter(function (item) { return item.trim() !== ""; }).length;
  }

  function update() {
    var runs = 1, swept = 0, unread = false;
    fields.forEach(function (el) {
      var n = count(el);
      if (n === null) unread = true;
      else if (n > 0) { runs *= n; swept += 1; }
    });
    if (!swept && !unread) {
      out.textContent = "";
      button.textContent = "Run";
      return;
    }
    if (unread) {
      out.textContent = "a list of values is not JSON yet";
      button.textContent = "Run sweep";
      return;
    }
    var text = "this sweep makes " + runs + " run" + (runs === 1 ? "" : "s");
    out.textContent = max && runs > max ? text + "; the most is " + max : text;
    out.classList.toggle("errorlist", Boolean(max && runs > max));
    button.textContent = "Queue " + runs + " run" + (runs === 1 ? "" : "s");
  }

  fields.forEach(function (el) { el.addEventListener("input", update); });
  update();
})();
