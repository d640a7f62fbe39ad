// Number, time and duration formatting shared by every page: the live mirror of the server's
// (compose/humanize.py, training/templatetags/compose_ui.py); tests pin that they agree.
(function () {
  "use strict";
  function num(x) {
    if (x === null || x === undefined || x === "") return "—";
    var n = Number(x);
    if (typeof x === "string" && isNaN(n) && x.trim().toLowerCase() !== "nan") return x;  // text stays text
    x = n;
    if (isNaN(x)) return "NaN";
    if (!isFinite(x)) return x > 0 ? "∞" : "-∞";
    if (x === 0) return "0";
    var ax = Math.abs(x);
    if (ax < 1e-3) {
      var parts = x.toExponential(1).split("e");
      return parts[0].replace(/\.0$/, "") + "e" + parseInt(parts[1], 10);
    }
    if (ax < 1000) return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4)));
    var units = [["G", 1e9], ["M", 1e6], ["k", 1e3]];
    for (var i = 0; i < units.length; i++) {
      if (ax >= units[i][1]) return (x / units[i][1]).toFixed(1).replace(/\.0$/, "") + units[i][0];
    }
    return String(x);
  }
  function duration(s) {
    if (s === null || s === undefined) return "—";
    s = Math.round(s);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60); s = s % 60;
    if (m < 60) return s ? m + " min " + s + " s" : m + " min";
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 48) return m ? h + " h " + m + " min" : h + " h";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  function relative(date, now) {
    var secs = ((now || new Date()) - date) / 1000, future = secs < 0;
    secs = Math.abs(secs);
    if (secs < 45) return future ? "in a moment" : "just now";
    var amount = secs < 3600 ? Math.round(secs / 60) + " min" : secs < 86400 ? Math.round(secs / 3600) + " h" : Math.round(secs / 86400) + " d";
    return future ? "in " + amount : amount + " ago";
  }
  window.fmt = { num: num, duration: duration, relative: relative };
})();
