// The run page: replays the run's events over HTTP, then follows them live over the
// websocket, reconnecting with backoff (and polling the HTTP endpoint while it is down).
// Ordering and de-duplication by seq live in sequencer.js.
(function () {
  "use strict";
  var root = document.getElementById("run");
  if (!root) return;
  var runId = root.dataset.run, eventsUrl = root.dataset.eventsUrl;
  var FINAL = ["succeeded", "failed", "cancelled", "interrupted", "skipped"];
  var RESUMABLE = ["failed", "cancelled", "interrupted"];
  var status = root.dataset.status, socket = null, retry = 0, pollTimer = null;
  var charts = new MetricCharts(document.getElementById("charts"), document.getElementById("charts-empty"));
  // A resumed run's curves begin with the runs it continues, up to the checkpoint it took.
  var earlier = document.getElementById("earlier-metrics");
  if (earlier) JSON.parse(earlier.textContent).forEach(function (e) { charts.add(e); });
  var logBox = document.getElementById("log"), followBtn = document.getElementById("log-follow");
  var conn = document.getElementById("conn");
  var MAX_LOG_LINES = 5000;

  // Markup comes from the server's own renderers: the badges and the blank job card sit in
  // <template> elements of the page; this script clones them and fills in text.
  var badges = document.getElementById("status-badges").content;
  function badge(s) {
    var known = badges.querySelector("[data-status='" + CSS.escape(s) + "']");
    if (known) return known.cloneNode(true);
    var span = badges.querySelector("[data-status='queued']").cloneNode(true);  // as status_badge draws one it does not know
    span.dataset.status = s; span.textContent = s;
    return span;
  }

  // --- the log ---------------------------------------------------------------------
  function atEnd() { return logBox.scrollTop + logBox.clientHeight >= logBox.scrollHeight - 8; }
  logBox.addEventListener("scroll", function () { followBtn.hidden = atEnd(); });
  followBtn.addEventListener("click", function () { logBox.scrollTop = logBox.scrollHeight; followBtn.hidden = true; });
  function logLine(event, text, level) {
    var follow = atEnd();
    var line = document.createElement("div");
    line.className = level || event.level || "info";
    var t = new Date((event.ts || 0) * 1000);
    var job = document.createElement("span");
    job.className = "src";
    job.textContent = t.toLocaleTimeString() + (event.job ? " [" + event.job + "] " : " ");
    line.appendChild(job);
    line.appendChild(document.createTextNode(text));
    logBox.appendChild(line);
    while (logBox.childNodes.length > MAX_LOG_LINES) logBox.removeChild(logBox.firstChild);
    if (follow) logBox.scrollTop = logBox.scrollHeight; else followBtn.hidden = false;
  }

  // --- jobs --------------------------------------------------------------------------
  function jobCard(id) {
    var card = document.querySelector(".job[data-job='" + CSS.escape(id) + "']");
    if (card || !id) return card;
    var empty = document.getElementById("jobs-empty");
    if (empty) empty.remove();
    card = document.getElementById("job-card-template").content.firstElementChild.cloneNode(true);
    card.dataset.job = id;
    card.querySelector("strong").textContent = id;
    document.getElementById("jobs").appendChild(card);
    return card;
  }
  function onProgress(e) {
    var card = jobCard(e.job); if (!card) return;
    var bar = card.querySelector("progress");
    if (e.total) { bar.max = e.total; bar.value = e.current; } else { bar.removeAttribute("value"); }
    card.querySelector(".job-stage").textContent = e.stage || "";
    var count = (e.total ? e.current + " / " + e.total : e.current) + " " + (e.unit || "");
    card.dataset.count = count;
    var eta = e.eta_s && FINAL.indexOf(card.dataset.status) < 0 ? " · " + fmt.duration(e.eta_s) + " left" : "";
    card.querySelector(".job-count").textContent = count + eta;
  }
  function onJobStatus(e) {
    var card = jobCard(e.job); if (!card) return;
    var holder = card.querySelector(".job-status");
    holder.innerHTML = ""; holder.appendChild(badge(e.status));
    card.dataset.status = e.status;
    // A cancelled job says where its checkpoint went; a failed one why.
    var message = card.querySelector(".job-message");
    message.textContent = e.message || "";
    message.className = "small job-message " + (e.status === "failed" || e.status === "interrupted" ? "errorlist" : "muted");
    if (FINAL.indexOf(e.status) >= 0 && card.dataset.count) card.querySelector(".job-count").textContent = card.dataset.count;
    // A bar moves only while its job runs: full once it succeeded, still otherwise.
    var bar = card.querySelector("progress");
    if (e.status === "succeeded") { bar.max = 1; bar.value = 1; }
    else if (e.status === "running" && !card.dataset.count) bar.removeAttribute("value");
    else if (e.status !== "running" && !bar.hasAttribute("value")) bar.value = 0;
  }

  // --- parts the server renders: artifacts, resolved configs, data sets ----------------
  // Each is fetched again (debounced) when an event says it grew: such events are few (a
  // checkpoint, a job's start, a data set), and the part then looks as after a reload.
  function part(box, delay) {
    var timer = null;
    function load(retries) {
      fetch(box.dataset.url, {credentials: "same-origin"})
        .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () { if (retries > 0) timer = setTimeout(function () { load(retries - 1); }, 3000); });
    }
    return function () { clearTimeout(timer); timer = setTimeout(function () { load(2); }, delay); };
  }
  var refreshFiles = part(document.getElementById("run-files"), 500);
  var configs = document.getElementById("job-configs"), refreshConfigs = part(configs, 200);
  var datasets = document.getElementById("datasets"), refreshDatasets = part(datasets, 200);
  var answers = document.getElementById("answers"), refreshAnswers = part(answers, 200);
  function onArtifact(e) {
    if (!document.querySelector("#artifacts tr[data-path='" + CSS.escape(e.path) + "']")) refreshFiles();
  }
  function onConfig(e) {
    var card = jobCard(e.job);  // the engine sends it as the job starts: name its component
    if (card && e.values && e.values.id) card.querySelector(".job-component").textContent = e.values.id;
    if (!configs.querySelector("[data-job-config='" + CSS.escape(e.job) + "']")) refreshConfigs();
  }
  function onOutput(e) {
    var ref = e.value;
    if (ref && ref.type === "dataset") {
      if (!datasets.querySelector("[data-dataset='" + CSS.escape(ref.fingerprint) + "']")) refreshDatasets();
    } else if (ref && typeof ref === "object" && !answers.querySelector("[data-answer='" + CSS.escape(e.job) + "']")) {
      refreshAnswers();
    }
  }

  // One click on Cancel must not end hours of training unasked.
  document.getElementById("cancel-form").addEventListener("submit", function (ev) {
    if (!window.confirm("Cancel this run? A training job stops after its current step and saves a checkpoint first.")) {
      ev.preventDefault();
    }
  });

  // --- run state ---------------------------------------------------------------------
  function onRun(state) {
    if (!state || !state.status) return;
    var before = status;
    status = state.status;
    var holder = document.getElementById("run-status");
    holder.innerHTML = ""; holder.appendChild(badge(state.status));
    root.dataset.status = state.status;
    var dur = document.getElementById("run-duration");
    if (state.started) dur.dataset.started = state.started;
    if (state.finished) dur.dataset.finished = state.finished;
    var startedHolder = document.getElementById("run-started");
    if (state.started && !startedHolder.querySelector("time")) {
      // As the server renders it: relative text (refreshed by ui.js), the exact time on hover.
      var started = new Date(state.started);
      var time = document.createElement("time");
      time.setAttribute("datetime", state.started);
      time.setAttribute("data-relative", "");
      time.title = started.toLocaleString();
      time.textContent = fmt.relative(started);
      startedHolder.innerHTML = ""; startedHolder.appendChild(time);
    }
    // A retried run that went on to succeed has no error any more: clear the old one.
    document.getElementById("run-error").textContent = state.error || "";
    // The whole plan, in workflow order, as soon as a worker has taken the run.
    var jobsBox = document.getElementById("jobs");
    (state.jobs || []).forEach(function (j) {
      var card = jobCard(j.job);
      if (!card) return;
      if (j.component) card.querySelector(".job-component").textContent = j.component;
      // A job no event speaks for (one kept from the run this one resumes) takes its
      // status from the record; a status an event already set is newer and stays.
      var unset = !card.dataset.status || card.dataset.status === "pending";
      if (unset && j.status && j.status !== "pending") onJobStatus({job: j.job, status: j.status, message: j.message});
      jobsBox.appendChild(card);  // moves a card made earlier by an event into its place
    });
    var final = FINAL.indexOf(state.status) >= 0;
    document.getElementById("cancel-form").hidden = final;
    // Why a queued run waits is moot once a worker has taken it.
    var waiting = document.getElementById("run-waiting");
    if (waiting && state.status !== "queued") waiting.hidden = true;
    var resume = document.getElementById("resume-form");
    if (resume) resume.hidden = resume.dataset.resumed === "1" || RESUMABLE.indexOf(state.status) < 0;
    var attempt = document.getElementById("run-attempt");
    if (attempt && state.attempt > 1) {
      attempt.hidden = false;
      attempt.querySelector("[data-attempt]").textContent = state.attempt;
    }
    // The run's folder is complete now: its size, the folder's download, Delete outputs….
    if (final && FINAL.indexOf(before) < 0) refreshFiles();
    if (final) {
      // "Waiting…" and "… yet" notes no longer fit: nothing more will come.
      document.querySelectorAll("[data-final-text]").forEach(function (note) { note.textContent = note.dataset.finalText; });
    }
    // The server sends a run's last events before its final status: nothing more will come.
    if (final && socket) socket.close();
  }
  setInterval(function () {
    var dur = document.getElementById("run-duration");
    if (!dur.dataset.started) return;
    var end = dur.dataset.finished ? new Date(dur.dataset.finished) : new Date();
    dur.textContent = fmt.duration((end - new Date(dur.dataset.started)) / 1000);
  }, 1000);

  // --- applying events in order (see sequencer.js) ---------------------------------------
  function apply(seq, e) {
    switch (e.type) {
      case "log": logLine(e, e.message, e.level); break;
      case "progress": onProgress(e); break;
      case "metric": charts.add(e); break;
      case "status": onJobStatus(e); logLine(e, "job " + e.status + (e.message ? ": " + e.message : ""), e.status === "failed" ? "error" : "info"); break;
      case "artifact": onArtifact(e); break;
      case "output": onOutput(e); break;
      case "config": onConfig(e); break;
    }
  }
  function fetchAfter(seq) {
    return fetch(eventsUrl + "?limit=5000&after=" + seq, {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); });
  }
  var sequencer = new Sequencer(apply, fetchAfter, onRun);
  function onMessage(msg) {
    if (msg.type === "run") sequencer.run(msg);
    else if (msg.type === "event") sequencer.push(msg.seq, msg.event);
  }

  // --- the websocket, with backoff and an HTTP poll while it is down ----------------------
  function setConn(text, cls) { conn.textContent = text; conn.className = "conn " + cls; }
  function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(function () { sequencer.replay(); }, 3000);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = null; }
  function connect() {
    if (FINAL.indexOf(status) >= 0) { setConn("", "muted"); return; }
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(proto + location.host + "/ws/runs/" + runId + "/?after=" + sequencer.last);
    socket.onopen = function () {
      retry = 0; stopPolling(); setConn("live", "live");
      socket.send(JSON.stringify({type: "resume", after: sequencer.last}));
    };
    socket.onmessage = function (m) { try { onMessage(JSON.parse(m.data)); } catch (err) { /* not JSON: ignore */ } };
    socket.onclose = function () {
      socket = null;
      if (FINAL.indexOf(status) >= 0) { setConn("", "muted"); stopPolling(); return; }
      var delay = Math.min(15000, 1000 * Math.pow(2, retry++));
      setConn("reconnecting in " + Math.round(delay / 1000) + " s…", "down");
      startPolling();
      setTimeout(function () { sequencer.replay().then(connect); }, delay);
    };
  }
  sequencer.replay().then(connect);
})();
