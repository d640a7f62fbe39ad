// Editor pages: send the form to the preview endpoint as the user types; show the YAML it
// would save and put each error beside the field it concerns.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview-url]");
  if (!form) return;
  // Read attributes with getAttribute: a form's named inputs shadow its properties
  // (a trainer has a field called "dataset", so form.dataset is that input).
  var previewUrl = form.getAttribute("data-preview-url");
  var pre = document.getElementById("yaml-preview");
  var status = document.getElementById("preview-status");
  var problemsBox = document.getElementById("preview-problems");
  var graphBox = document.getElementById("graph-preview");
  var timer = null, counter = 0;

  function showFieldErrors(fieldErrors) {
    form.querySelectorAll("ul[data-errors-for]").forEach(function (ul) {
      var errs = fieldErrors[ul.dataset.errorsFor] || [];
      ul.innerHTML = "";
      errs.forEach(function (msg) { var li = document.createElement("li"); li.textContent = msg; ul.appendChild(li); });
      var row = ul.closest(".field");
      if (row) row.classList.toggle("has-error", errs.length > 0);
    });
  }
  function showProblems(problems) {
    window.composeProblems(problemsBox, null, problems);
  }
  function preview() {
    var mine = ++counter;
    status.textContent = "updating…";
    fetch(previewUrl, {method: "POST", body: new FormData(form), credentials: "same-origin",
                                    headers: {"X-CSRFToken": window.composeCsrf ? window.composeCsrf() : ""}})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== counter) return;
        pre.textContent = data.yaml;
        showFieldErrors(data.field_errors || {});
        showProblems(data.problems || []);
        if (graphBox && data.graph !== undefined) graphBox.innerHTML = data.graph;
        status.textContent = data.ok ? "valid" : "has problems";
        status.className = "small " + (data.ok ? "muted" : "errorlist");
      })
      .catch(function () { status.textContent = "preview unavailable"; });
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(preview, 300); }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);

  // datasets components: show the groups that matter for the chosen method.
  var method = form.querySelector("select[name=method]");
  function syncGroups() {
    if (!method) return;
    var chosen = method.value && method.value !== "__binding__" ? method.value : "load";
    form.querySelectorAll("fieldset[data-methods]").forEach(function (fs) {
      var methods = fs.dataset.methods.split(" ").filter(Boolean);
      if (!methods.length) return;
      var filled = Array.prototype.some.call(fs.querySelectorAll("input, select, textarea"), function (el) { return el.value; });
      fs.hidden = methods.indexOf(chosen) < 0 && !filled;
    });
  }
  if (method) { method.addEventListener("change", syncGroups); syncGroups(); }
})();
