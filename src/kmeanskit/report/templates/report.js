// kmeanskit report: sortable/filterable tables and copy buttons. No dependencies, no network.
(function () {
  "use strict";
  function cellValue(row, i) {
    var c = row.cells[i];
    var v = c.getAttribute("data-value");
    return v === null ? c.textContent.trim() : v;
  }
  function compare(a, b, numeric) {
    if (numeric) {
      var x = parseFloat(a), y = parseFloat(b);
      if (isNaN(x)) { return isNaN(y) ? 0 : 1; }   // empty/missing cells last
      if (isNaN(y)) { return -1; }
      return x - y;
    }
    return a.localeCompare(b);
  }
  function sortBy(table, th, i) {
    var body = table.tBodies[0];
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var numeric = th.classList.contains("num");
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, k) { r._pos = k; });
    rows.sort(function (r1, r2) {
      var d = compare(cellValue(r1, i), cellValue(r2, i), numeric);
      if (dir === "descending") { d = -d; }
      return d !== 0 ? d : r1._pos - r2._pos;   // stable
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setupSort(table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("tabindex", "0");
      th.addEventListener("click", function () { sortBy(table, th, i); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, th, i); } });
    });
  }
  function setupFilter(input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var count = document.getElementById(input.getAttribute("data-count"));
    input.addEventListener("input", function () {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var text = r.textContent.toLowerCase();
        var ok = terms.every(function (t) {
          var m = /^([^=]+)=(.*)$/.exec(t);   // column=value matches one column exactly
          if (m) {
            var idx = Array.prototype.findIndex.call(table.tHead.rows[0].cells, function (h) {
              return h.textContent.replace(/[\u25B2\u25BC]/g, "").trim().toLowerCase() === m[1];
            });
            return idx >= 0 && r.cells[idx].textContent.trim().toLowerCase() === m[2];
          }
          return text.indexOf(t) >= 0;
        });
        r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (count) { count.textContent = String(shown); }
    });
  }
  function setupCopy(button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      function done() { button.textContent = "copied"; setTimeout(function () { button.textContent = "copy"; }, 1200); }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
      } else { fallback(text); done(); }
    });
  }
  function fallback(text) {
    var t = document.createElement("textarea");
    t.value = text; t.setAttribute("readonly", ""); t.style.position = "absolute"; t.style.left = "-9999px";
    document.body.appendChild(t); t.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing to copy to */ }
    document.body.removeChild(t);
  }
  document.querySelectorAll("table.sortable").forEach(setupSort);
  document.querySelectorAll("input[data-table]").forEach(setupFilter);
  document.querySelectorAll("button.copy").forEach(setupCopy);
}());
