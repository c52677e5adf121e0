// Selects the whole payment link when staff click it, ready to copy.
document.querySelectorAll("input.copy").forEach(function (input) {
  input.addEventListener("focus", function () { input.select(); });
});
