// A job's resolved fields as block YAML, written the way PyYAML writes them on the
// server (the run page shows both), and read back by YAML as the same values.
(function (root) {
  "use strict";

  function toYaml(value, indent) {
    indent = indent || "";
    function scalar(v) {
      if (v === null || v === undefined) return "null";
      if (typeof v === "number") {
        // YAML reads 1e-07 as text: an exponent needs a decimal point before it, as PyYAML writes it.
        var text = String(v);
        return /e/.test(text) && !/\./.test(text.split("e")[0]) ? text.replace("e", ".0e") : text;
      }
      if (typeof v !== "string") return String(v);
      // Plain when YAML would read it back as the same string; else quoted, single quotes
      // as PyYAML writes them where nothing needs escaping, JSON's quoting (valid YAML) otherwise.
      if (/^[A-Za-z_./][\w ./@+-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v) &&
          !/^\.(\d|inf$|nan$)/i.test(v) && !/\s$/.test(v)) return v;
      return /^[^'\\\u0000-\u001f\u007f-\u009f]*$/.test(v) ? "'" + v + "'" : JSON.stringify(v);
    }
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return value.map(function (item) {
        var inner = toYaml(item, indent + "  ");
        return indent + "- " + (typeof item === "object" && item !== null ? inner.replace(/^\s+/, "") : inner);
      }).join("\n");
    }
    if (value && typeof value === "object") {
      var keys = Object.keys(value);
      if (!keys.length) return "{}";
      return keys.map(function (k) {
        var v = value[k];
        var nested = v && typeof v === "object" && (Array.isArray(v) ? v.length : Object.keys(v).length);
        // As PyYAML writes it: a list's items under a key at the key's own indent.
        var inner = Array.isArray(v) ? indent : indent + "  ";
        return indent + scalar(k) + ":" + (nested ? "\n" + toYaml(v, inner) : " " + (typeof v === "object" && v !== null ? toYaml(v) : scalar(v)));
      }).join("\n");
    }
    return scalar(value);
  }

  if (typeof module !== "undefined" && module.exports) module.exports = toYaml;
  else root.toYaml = toYaml;
})(typeof window !== "undefined" ? window : globalThis);
