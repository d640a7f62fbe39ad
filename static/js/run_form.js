// Run form: a slider shows its value next to it while it moves, and a sweep says how many
// runs it makes before it is sent (the server counts again, and refuses a grid over the cap).

// How many values a "several values" field holds, as compose.sweep.split_values reads it: a
// JSON list (a JSON input, or text starting with "["), else the non-blank items between
// commas. null: not a JSON list (yet).
window.sweepValueCount = function (text, type) {
  text = text.trim();
  if (!text) return 0;
  if (type === "json" || text.charAt(0) === "[") {
    try {
      var list = JSON.parse(text);
      return Array.isArray(list) ? list.length : null;
    } catch (e) {
      return null;
    }
  }
  return text.split(",").filter(function (item) { return item.trim() !== ""; }).length;
};

if (typeof document !== "undefined") {
  document.querySelectorAll("input[data-slider]").forEach(function (el) {
    var out = el.parentNode.querySelector("[data-slider-value]");
    el.addEventListener("input", function () { if (out) out.textContent = el.value; });
  });

  (function () {
    var fields = Array.prototype.slice.call(document.querySelectorAll("input[data-sweep]"));
    var out = document.getElementById("sweep-count");
    var button = document.querySelector("button[data-run-button]");
    if (!fields.length || !out || !button) return;
    var max = parseInt(out.getAttribute("data-max"), 10) || 0;

    function update() {
      var runs = 1, swept = 0, unread = false;
      fields.forEach(function (el) {
        var n = window.sweepValueCount(el.value, el.getAttribute("data-type"));
        if (n === null) unread = true;
        else if (n > 0) { runs *= n; swept += 1; }
      });
      var over = Boolean(max && runs > max) && !unread;
      out.classList.toggle("errorlist", over);
      if (unread) {
        out.textContent = "a list of values is not JSON yet";
        button.textContent = "Run sweep";
      } else if (!swept) {
        out.textContent = "";
        button.textContent = "Run";
      } else {
        var text = "this sweep makes " + runs + " run" + (runs === 1 ? "" : "s");
        out.textContent = over ? text + "; the most is " + max : text;
        button.textContent = "Queue " + runs + " run" + (runs === 1 ? "" : "s");
      }
    }

    fields.forEach(function (el) { el.addEventListener("input", update); });
    update();  // a form sent back with errors keeps its values: count them at once
  })();
}
