// Checks a compose YAML text area as the user types and lists problems at their line.
(function () {
  "use strict";
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  window.composeCsrf = csrf;

  function render(box, targetId, problems) {
    var ul = document.createElement("ul");
    ul.className = "problems";
    problems.forEach(function (p) {
      var li = document.createElement("li");
      li.className = p.severity;
      var where = document.createElement("span");
      where.className = "where";
      var loc = p.line ? "line " + p.line + (p.column ? ", column " + p.column : "") : "";
      where.textContent = loc + (p.path ? (loc ? " · " : "") + p.path : "");
      li.appendChild(where);
      li.appendChild(document.createTextNode(p.message));
      if (p.line && targetId) {
        var b = document.createElement("button");
        b.type = "button"; b.className = "goto"; b.textContent = "go to line";
        b.dataset.target = targetId; b.dataset.line = p.line; b.dataset.column = p.column || 1;
        li.appendChild(document.createTextNode(" "));
        li.appendChild(b);
      }
      ul.appendChild(li);
    });
    box.innerHTML = "";
    if (problems.length) box.appendChild(ul);
  }
  // The editors list their preview's problems the same way (no text area to jump to).
  window.composeProblems = render;

  // A line-number gutter beside the text; lines with problems are marked, the message on hover.
  function addGutter(ta) {
    var wrap = document.createElement("div");
    wrap.className = "code-wrap";
    var gutter = document.createElement("div");
    gutter.className = "gutter";
    gutter.setAttribute("aria-hidden", "true");
    ta.parentNode.insertBefore(wrap, ta);
    wrap.appendChild(gutter);
    wrap.appendChild(ta);
    var marks = {};
    function draw() {
      var n = ta.value.split("\n").length, frag = document.createDocumentFragment();
      for (var i = 1; i <= n; i++) {
        var d = document.createElement("div");
        d.textContent = i;
        if (marks[i]) { d.className = "mark " + marks[i].severity; d.title = marks[i].message; }
        frag.appendChild(d);
      }
      gutter.innerHTML = "";
      gutter.appendChild(frag);
      gutter.scrollTop = ta.scrollTop;
    }
    ta.addEventListener("scroll", function () { gutter.scrollTop = ta.scrollTop; });
    ta.addEventListener("input", draw);
    draw();
    return function (problems) {
      marks = {};
      problems.forEach(function (p) {
        if (!p.line) return;
        var old = marks[p.line];
        if (!old || old.severity !== "error") marks[p.line] = {severity: p.severity, message: (old ? old.message + "\n" : "") + p.message};
      });
      draw();
    };
  }

  document.querySelectorAll(".yaml-editor").forEach(function (editor) {
    var ta = document.getElementById(editor.dataset.target);
    var status = editor.querySelector(".yaml-status");
    var box = editor.querySelector(".yaml-problems");
    var timer = null, counter = 0;
    var mark = addGutter(ta);
    function check() {
      var mine = ++counter;
      status.textContent = "checking…";
      fetch(editor.dataset.validateUrl, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
        body: JSON.stringify({text: ta.value})
      }).then(function (r) { return r.json(); }).then(function (data) {
        if (mine !== counter) return;  // a newer check is on its way
        var errors = data.problems.filter(function (p) { return p.severity === "error"; }).length;
        var warnings = data.problems.length - errors;
        status.textContent = errors ? errors + " problem" + (errors > 1 ? "s" : "") : "valid" + (warnings ? " (" + warnings + " warning" + (warnings > 1 ? "s" : "") + ")" : "");
        status.className = "yaml-status " + (errors ? "errorlist" : "muted");
        render(box, ta.id, data.problems);
        mark(data.problems);
      }).catch(function () { status.textContent = "could not check (offline?)"; });
    }
    ta.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 400); });
    ta.addEventListener("keydown", function (e) {
      if (e.key !== "Tab" || e.shiftKey) return;  // Tab indents; Shift+Tab or Esc then Tab leaves the box
      if (ta.dataset.escaped) { delete ta.dataset.escaped; return; }
      e.preventDefault();
      var s = ta.selectionStart;
      ta.setRangeText("  ", s, ta.selectionEnd, "end");
      ta.dispatchEvent(new Event("input", {bubbles: true}));
    });
    ta.addEventListener("keyup", function (e) { if (e.key === "Escape") ta.dataset.escaped = "1"; });
    if (ta.value.trim()) check();
  });
})();
