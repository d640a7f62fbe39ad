// Live metric charts (uPlot). Points arrive one metric event at a time; each chart redraws
// at most a few times a second, so tens of thousands of points stay smooth.
(function () {
  "use strict";
  var CHARTS = [
    {id: "loss", title: "Loss", metrics: ["loss", "eval_loss"]},
    {id: "learning_rate", title: "Learning rate", metrics: ["learning_rate"]},
    {id: "grad_norm", title: "Grad norm", metrics: ["grad_norm"]},
    // Tokens and samples per second differ a thousandfold: one axis each.
    {id: "tokens_per_second", title: "Tokens per second", metrics: ["tokens_per_second"], unit: "/s"},
    {id: "samples_per_second", title: "Samples per second", metrics: ["samples_per_second"], unit: "/s"},
    {id: "perplexity", title: "Perplexity (eval)", metrics: ["perplexity"]},
    {id: "classification", title: "Accuracy and F1 (eval)", metrics: ["accuracy", "f1"]}
  ];
  var COLORS = ["#2456d6", "#d6612a", "#13795b", "#9b37c4", "#c0262d", "#5b6b88"];
  var NAMES = {loss: "train loss", eval_loss: "eval loss", learning_rate: "learning rate", grad_norm: "grad norm",
               tokens_per_second: "tokens/s", samples_per_second: "samples/s", perplexity: "perplexity",
               accuracy: "accuracy", f1: "F1"};
  // Steps are whole numbers: ticks at 1, 2, 5, 10, 20, 50 ... never at 3.5.
  var STEP_TICKS = [];
  for (var p = 1; p <= 1e8; p *= 10) STEP_TICKS.push(p, 2 * p, 5 * p);

  function Chart(spec, container, owner) {
    this.spec = spec;
    this.owner = owner;
    this.series = {};   // key "job · metric" -> {x: [], y: [], job, metric}
    this.order = [];
    this.count = 0;
    this.plot = null;
    this.extent = null;    // [first, last] step of the data the plot was last given
    this.keptZoom = null;  // the user's zoom, carried over when the chart is rebuilt
    this.dirty = false;
    this.el = document.createElement("div");
    this.el.className = "chart";
    this.el.dataset.chart = spec.id;
    this.el.dataset.points = "0";
    this.el.hidden = true;
    var h = document.createElement("h3");
    h.textContent = spec.title;
    this.el.appendChild(h);
    this.box = document.createElement("div");
    this.el.appendChild(this.box);
    container.appendChild(this.el);
  }
  Chart.prototype.add = function (job, metric, step, value) {
    var key = job + " · " + metric, s = this.series[key];
    if (!s) {
      s = this.series[key] = {x: [], y: [], job: job, metric: metric};
      this.order.push(key);
      if (this.plot) {  // a new line: rebuild the chart, keeping the user's zoom
        this.keptZoom = this.zoomed();
        this.plot.destroy(); this.plot = null;
      }
    }
    var n = s.x.length;
    if (n && step <= s.x[n - 1]) {
      // A job resumed from a checkpoint reports again from there: its points replace the
      // ones it had logged past that checkpoint, so the line joins without a fold.
      var keep = 0;
      while (keep < n && s.x[keep] < step) keep++;
      this.count -= n - keep;
      s.x.length = keep;
      s.y.length = keep;
    }
    s.x.push(step);
    s.y.push(value);
    this.count++;
    this.el.dataset.points = String(this.count);
    this.el.hidden = false;
    this.dirty = true;
  };
  Chart.prototype.aligned = function () {
    // uPlot wants one x array: merge the series' steps and leave gaps as null.
    var keys = this.order, self = this;
    var xs = [];
    var idx = keys.map(function () { return 0; });
    for (;;) {
      var next = Infinity;
      keys.forEach(function (k, i) { var s = self.series[k]; if (idx[i] < s.x.length && s.x[idx[i]] < next) next = s.x[idx[i]]; });
      if (next === Infinity) break;
      xs.push(next);
      keys.forEach(function (k, i) { var s = self.series[k]; while (idx[i] < s.x.length && s.x[idx[i]] === next) idx[i]++; });
    }
    var data = [xs];
    keys.forEach(function (k) {
      var s = self.series[k], ys = new Array(xs.length), j = 0;
      for (var i = 0; i < xs.length; i++) {
        if (j < s.x.length && s.x[j] === xs[i]) { ys[i] = s.y[j]; j++; } else ys[i] = null;
      }
      data.push(ys);
    });
    return data;
  };
  Chart.prototype.label = function (key) {
    // The job's name only where several jobs report: "train · eval_loss" read as a split.
    var s = this.series[key], name = NAMES[s.metric] || s.metric;
    return this.owner.jobCount() > 1 ? s.job + ": " + name : name;
  };
  Chart.prototype.zoomed = function () {
    // The step range the user dragged to, or null while the chart shows every step.
    if (!this.plot || !this.extent) return null;
    var x = this.plot.scales.x;
    return x.min > this.extent[0] || x.max < this.extent[1] ? {min: x.min, max: x.max} : null;
  };
  Chart.prototype.draw = function () {
    if (!this.dirty || this.el.hidden || typeof uPlot === "undefined") return;
    this.dirty = false;
    var data = this.aligned();
    var extent = [data[0][0], data[0][data[0].length - 1]];
    if (this.plot) {
      // New points re-fit the axes, unless the user is zoomed in: then the view stays
      // (double-click shows every step again).
      this.plot.setData(data, !this.zoomed());
      this.extent = extent;
      return;
    }
    var width = Math.max(300, this.el.clientWidth - 16);
    var unit = this.spec.unit || "", self = this;
    var opts = {
      width: width, height: 220,
      scales: {x: {time: false}},
      cursor: {drag: {x: true, y: false}},
      axes: [{label: "step", incrs: STEP_TICKS}, {values: function (u, vals) { return vals.map(function (v) { return fmt.num(v) + unit; }); }, size: 60}],
      series: [{label: "step"}].concat(this.order.map(function (key, i) {
        return {label: self.label(key), stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true,
                points: {show: key.indexOf("eval") >= 0 || key.indexOf("perplexity") >= 0 || key.indexOf("accuracy") >= 0 || key.indexOf("f1") >= 0},
                value: function (u, v) { return v === null || v === undefined ? "—" : fmt.num(v) + unit; }};
      }))
    };
    this.box.innerHTML = "";
    this.plot = new uPlot(opts, data, this.box);
    this.extent = extent;
    if (this.keptZoom) { this.plot.setScale("x", this.keptZoom); this.keptZoom = null; }
  };
  Chart.prototype.resize = function () {
    if (this.plot) this.plot.setSize({width: Math.max(300, this.el.clientWidth - 16), height: 220});
  };

  function MetricCharts(container, emptyNote) {
    var self = this;
    this.charts = CHARTS.map(function (spec) { return new Chart(spec, container, self); });
    this.byMetric = {};
    this.charts.forEach(function (c) { c.spec.metrics.forEach(function (m) { self.byMetric[m] = c; }); });
    this.jobs = {};
    this.emptyNote = emptyNote;
    this.scheduled = false;
    if (window.ResizeObserver) {
      new ResizeObserver(function () { self.charts.forEach(function (c) { c.resize(); }); }).observe(container);
    }
  }
  MetricCharts.prototype.add = function (event) {
    var self = this, values = event.values || {};
    this.jobs[event.job] = true;
    Object.keys(values).forEach(function (name) {
      var chart = self.byMetric[name], v = values[name];
      if (!chart || v === null || v === undefined || !isFinite(v)) return;
      chart.add(event.job, name, Number(event.step), Number(v));
    });
    if (this.emptyNote) this.emptyNote.hidden = true;
    this.schedule();
  };
  MetricCharts.prototype.jobCount = function () { return Object.keys(this.jobs).length; };
  MetricCharts.prototype.schedule = function () {
    if (this.scheduled) return;
    this.scheduled = true;
    var self = this;
    setTimeout(function () {
      self.scheduled = false;
      requestAnimationFrame(function () { self.charts.forEach(function (c) { c.draw(); }); });
    }, 250);
  };
  window.MetricCharts = MetricCharts;
})();
