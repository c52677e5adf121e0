// The link page's copy button. Without JS the button stays hidden and the
// readonly input is still there to select and copy by hand.
(function () {
  var input = document.getElementById("link-url");
  var button = document.getElementById("copy-link");
  var status = document.getElementById("copy-status");
  if (!input) {
    return;
  }
  input.addEventListener("focus", function () { input.select(); });
  if (!button || !status) {
    return;
  }

  function say(text) {
    status.textContent = text; // textContent: never parsed as HTML
  }

  // navigator.clipboard needs a secure context (https or localhost); older
  // or plain-http pages fall back to copying the selection.
  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      input.focus();
      input.select();
      if (document.execCommand && document.execCommand("copy")) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    copy(input.value).then(function () {
      say(button.dataset.copied);
    }, function () {
      input.focus();
      input.select();
      say(button.dataset.failed);
    });
  });
})();
