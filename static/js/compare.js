// Comparing runs: the "Compare selected" button of a runs table, and the compare page's
// overlaid curves (uPlot: one chart per metric, one colour per run).
(function () {
  "use strict";
  var MIN = 2, MAX = 6;

  // --- choosing runs in a runs table ------------------------------------------------
  // Without this script the form still works: the server takes runs=12&runs=14 as well.
  document.querySelectorAll("form[data-compare-form]").forEach(function (form) {
    var button = form.querySelector("[data-compare-button]"), hint = form.querySelector("[data-compare-hint]");
    if (!button || !hint) return;  // a table of one run has nothing to compare
    function ticked() {
      return Array.prototype.map.call(form.querySelectorAll("input[name=runs]:checked"), function (box) { return box.value; });
    }
    function update() {
      var n = ticked().length;
      button.disabled = n < MIN || n > MAX;
      hint.textContent = n === 0 ? "Tick " + MIN + " to " + MAX + " runs to compare them."
        : n < MIN ? "1 run ticked: tick at least one more."
        : n > MAX ? n + " runs ticked: compare " + MAX + " at most."
        : n + " runs ticked.";
    }
    form.addEventListener("change", update);
    window.addEventListener("pageshow", update);  // boxes the browser kept ticked on Back
    form.addEventListener("submit", function (e) {
      // The short address, the one worth sharing: ?runs=12,14
      e.preventDefault();
      var ids = ticked();
      if (ids.length >= MIN && ids.length <= MAX) window.location.href = form.action + "?runs=" + ids.join(",");
    });
    update();
  });

  // The share box selects its whole link when focused, ready to copy.
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  // --- the compare page's charts ----------------------------------------------------
  var source = document.getElementById("compare-data"), container = document.getElementById("compare-charts");
  if (!source || !container || typeof uPlot === "undefined") return;
  var data = JSON.parse(source.textContent);
  var PALETTE = ["#2456d6", "#d6612a", "#13795b", "#9b37c4", "#c0262d", "#5b6b88"];
  var STEP_TICKS = [];
  for (var p = 1; p <= 1e8; p *= 10) STEP_TICKS.push(p, 2 * p, 5 * p);
  var runs = {};
  data.runs.forEach(function (run) {
    // The table's swatch is where a run's colour is decided (app.css); the palette is its copy.
    var swatch = document.querySelector(".swatch[data-run='" + run.id + "']");
    var colour = swatch ? getComputedStyle(swatch).backgroundColor : "";
    runs[run.id] = {label: run.label, colour: colour || PALETTE[run.colour % PALETTE.length]};
  });

  var plots = [];
  function width(el) { return Math.max(300, el.clientWidth - 16); }
  data.charts.forEach(function (chart) {
    var el = document.createElement("div");
    el.className = "chart";
    el.dataset.chart = chart.key;
    el.dataset.series = String(chart.series.length);
    var title = document.createElement("h3");
    title.textContent = chart.title;
    el.appendChild(title);
    var box = document.createElement("div");
    el.appendChild(box);
    container.appendChild(el);

    // A run with several jobs reporting this metric: its job in the label, a dash after the first.
    var jobs = {};
    chart.series.forEach(function (s) { (jobs[s.run] = jobs[s.run] || []).push(s.job); });
    var series = [{label: "step"}].concat(chart.series.map(function (s) {
      var own = jobs[s.run], run = runs[s.run];
      return {
        label: run.label + (own.length > 1 ? " · " + s.job : ""),
        stroke: run.colour, width: 1.5, spanGaps: true,
        dash: own.indexOf(s.job) > 0 ? [6, 4] : undefined,
        points: {show: s.x.length < 50},
        value: function (u, v) { return v === null || v === undefined ? "—" : fmt.num(v); }
      };
    }));
    var aligned = uPlot.join(chart.series.map(function (s) { return [s.x, s.y]; }));
    var opts = {
      width: width(el), height: 240,
      scales: {x: {time: false}},
      cursor: {drag: {x: true, y: false}},
      axes: [{label: "step", incrs: STEP_TICKS},
             {values: function (u, vals) { return vals.map(function (v) { return fmt.num(v); }); }, size: 60}],
      series: series
    };
    plots.push({plot: new uPlot(opts, aligned, box), el: el});
  });
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      plots.forEach(function (p) { p.plot.setSize({width: width(p.el), height: 240}); });
    }).observe(container);
  }
})();
