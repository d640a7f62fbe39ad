// Small page behaviours: relative times, tabs, unsaved-change warnings, binding inputs.
(function () {
  "use strict";

  function refreshTimes() {
    document.querySelectorAll("time[data-relative]").forEach(function (el) {
      el.textContent = fmt.relative(new Date(el.getAttribute("datetime")));
    });
  }
  refreshTimes();
  setInterval(refreshTimes, 30000);

  // Tabs: buttons with role=tab controlling panels; arrow keys move, the URL hash remembers.
  document.querySelectorAll("[role=tablist]").forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
    function select(tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) tab.focus();
      history.replaceState(null, "", "#" + tab.dataset.tab);
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (e) {
        var next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
        if (next === null) return;
        e.preventDefault();
        select(tabs[(next + tabs.length) % tabs.length], true);
      });
    });
    var wanted = location.hash.slice(1);
    var initial = tabs.filter(function (t) { return t.dataset.tab === wanted; })[0];
    if (initial) select(initial, false);
  });

  // Forms marked data-warn-unsaved ask before the page is left with edits in them.
  var dirty = false;
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
  });
  window.addEventListener("beforeunload", function (e) {
    if (!dirty) return;
    e.preventDefault();
    e.returnValue = "";
  });
  window.composeMarkSaved = function () { dirty = false; };

  // A select with a "${…} binding" option reveals the text input that holds the binding.
  function syncBinding(select) {
    var input = document.querySelector("[data-binding-for='" + select.name + "']");
    if (!input) return;
    var on = select.value === "__binding__";
    input.hidden = !on;
    if (on && document.activeElement === select) input.focus();
  }
  document.querySelectorAll("select[data-binding-select]").forEach(function (select) {
    syncBinding(select);
    select.addEventListener("change", function () { syncBinding(select); });
  });

  // Put the caret of a textarea on a given line (buttons in problem lists).
  window.composeGotoLine = function (textarea, line, column) {
    var lines = textarea.value.split("\n"), pos = 0;
    for (var i = 0; i < Math.min(line - 1, lines.length); i++) pos += lines[i].length + 1;
    pos += Math.max(0, (column || 1) - 1);
    textarea.focus();
    textarea.setSelectionRange(pos, pos);
    var lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 18;
    textarea.scrollTop = Math.max(0, (line - 5) * lineHeight);
  };
  document.addEventListener("click", function (e) {
    var btn = e.target.closest("button.goto");
    if (!btn) return;
    var ta = document.getElementById(btn.dataset.target);
    if (ta) window.composeGotoLine(ta, Number(btn.dataset.line), Number(btn.dataset.column));
  });
})();
