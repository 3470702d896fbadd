// Copy buttons: progressive enhancement; every value is also selectable text.
document.addEventListener("click", function (ev) {
  var btn = ev.target.closest("button[data-copy]");
  if (!btn) return;
  var el = document.getElementById(btn.getAttribute("data-copy"));
  if (!el) return;
  var text = el.value !== undefined ? el.value : el.textContent;
  var done = function () { var old = btn.textContent; btn.textContent = "Copied"; setTimeout(function () { btn.textContent = old; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { el.select(); document.execCommand("copy"); done(); });
  } else { el.select(); document.execCommand("copy"); done(); }
});

// Select all: a header checkbox ticks every row checkbox of the bulk form
// (progressive enhancement; each row has its own checkbox without it).
document.querySelectorAll("input.select-all").forEach(function (all) {
  all.hidden = false;
  all.addEventListener("change", function () {
    document.querySelectorAll('input[form="bulk"][name="id"]').forEach(function (box) { box.checked = all.checked; });
  });
});
