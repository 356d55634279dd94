// Small enhancements; every page works without them. No inline scripts: the CSP forbids them.
(function () {
  "use strict";

  // Ask before a destructive form is sent: <button data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Copy buttons: <button class="js-copy" data-copy="#input" data-done="Copied" hidden>.
  function enableCopy(root) {
    root.querySelectorAll(".js-copy").forEach(function (button) {
      if (!navigator.clipboard) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy"));
        navigator.clipboard.writeText(source.value).then(function () {
          button.textContent = button.getAttribute("data-done");
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enableCopy(document); });
  document.addEventListener("htmx:afterSwap", function (event) { enableCopy(event.target); });
})();

// Label sheets: a print button, shown only where JavaScript runs (Ctrl+P works everywhere).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
