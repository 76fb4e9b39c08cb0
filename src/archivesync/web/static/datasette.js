// Datasette's table and view pages open with a screen of column descriptions before any row:
// fold them into a <details> that opens on a click.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("dl.column-descriptions").forEach(function (dl) {
    var details = document.createElement("details");
    details.className = "column-descriptions-box";
    var summary = document.createElement("summary");
    summary.textContent = "列の説明 / Column descriptions (" + dl.querySelectorAll("dt").length + ")";
    dl.parentNode.insertBefore(details, dl);
    details.appendChild(summary);
    details.appendChild(dl);
  });
});
