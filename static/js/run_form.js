// Run form: a slider shows its value next to it while it moves.
document.querySelectorAll("input[data-slider]").forEach(function (el) {
  var out = el.parentNode.querySelector("[data-slider-value]");
  el.addEventListener("input", function () { if (out) out.textContent = el.value; });
});
