// The checker summary (output/check/index.html): sortable columns. Without JavaScript
// the table stays a plain static table.
(function () {
  var table = document.getElementById("check-units");
  if (!table || !table.tHead) return;
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    var type = th.getAttribute("data-type");
    if (!type) return;
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    var ascending = true;
    button.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        var d = type === "num" ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
        return ascending ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      ascending = !ascending;
    });
  });
})();
