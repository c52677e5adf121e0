// The menu button of the top bar. Below 640 px the stylesheet folds the
// menu (links, email, log out) behind it while it says aria-expanded="false".
// Without JavaScript the button stays hidden and the menu shows in full.
(function () {
  "use strict";
  var button = document.querySelector(".menu-button");
  var menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) {
    return;
  }

  function open() {
    return button.getAttribute("aria-expanded") === "true";
  }

  function show(yes) {
    button.setAttribute("aria-expanded", String(yes));
  }

  button.hidden = false;
  button.addEventListener("click", function () { show(!open()); });
  // Escape closes the menu and puts the focus back on its button.
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && open()) {
      show(false);
      button.focus();
    }
  });
})();
