// Keyboard navigation of the queue: j / k move between rows, Enter (or o) opens the case.
// Everything works without this script; it only adds the keys.
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row[data-href]"));
  if (!rows.length) return;
  var at = -1;
  function move(i) {
    if (at >= 0) rows[at].classList.remove("current");
    at = Math.max(0, Math.min(rows.length - 1, i));
    rows[at].classList.add("current");
    rows[at].focus();
  }
  rows.forEach(function (r, i) {
    r.addEventListener("focus", function () { if (at !== i) { if (at >= 0) rows[at].classList.remove("current"); at = i; r.classList.add("current"); } });
    r.addEventListener("click", function (e) { if (e.target.tagName !== "A") window.location = r.dataset.href; });
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j") { move(at + 1); e.preventDefault(); }
    else if (e.key === "k") { move(at - 1); e.preventDefault(); }
    else if ((e.key === "Enter" || e.key === "o") && at >= 0) { window.location = rows[at].dataset.href; e.preventDefault(); }
  });
})();
