"use strict";
// Sorting and filtering only read text the page already shows; nothing from the data is ever parsed as HTML.
(function () {
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return ""; }
    var key = cell.getAttribute("data-sort");
    return key !== null ? key : cell.textContent.trim().toLowerCase();
  }
  function compare(a, b) {
    var x = parseFloat(a), y = parseFloat(b);
    if (!isNaN(x) && !isNaN(y) && String(x) === a && String(y) === b) { return x - y; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.setAttribute("tabindex", "0");
      var sort = function () {
        var body = table.tBodies[0];
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var result = compare(cellValue(r1, index), cellValue(r2, index));
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
    });
  });
  document.querySelectorAll("section.target").forEach(function (section) {
    var input = section.querySelector("input.filter");
    var boxes = section.querySelectorAll("input.sevbox");
    var apply = function () {
      var query = input ? input.value.trim().toLowerCase() : "";
      var shown = {};
      boxes.forEach(function (box) { shown[box.value] = box.checked; });
      section.querySelectorAll("table.filterable tbody tr").forEach(function (row) {
        var sev = row.getAttribute("data-severity");
        var visible = (!sev || shown[sev] !== false) && (!query || row.textContent.toLowerCase().indexOf(query) !== -1);
        row.hidden = !visible;
      });
      section.querySelectorAll("table.filterable").forEach(function (table) {
        var count = table.querySelectorAll("tbody tr:not([hidden])").length;
        var label = section.querySelector("[data-count-for='" + table.id + "']");
        if (label) { label.textContent = String(count); }
      });
    };
    if (input) { input.addEventListener("input", apply); }
    boxes.forEach(function (box) { box.addEventListener("change", apply); });
  });
  document.documentElement.setAttribute("data-report-ready", "1");
})();
