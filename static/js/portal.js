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

  // A form being sent cannot be sent again by a second click: its buttons wait until the answer comes. A courtesy
  // only; the server counts each form once whatever the browser does (portal/steps.py).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    window.setTimeout(function () {  // after the browser has read the clicked button's name and value
      form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }, 0);
  });
  function release(root) {
    root.querySelectorAll("[aria-busy=true]").forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("aria-busy");
    });
  }
  window.addEventListener("pageshow", function () { release(document); });  // back to a page from the cache
  document.addEventListener("htmx:afterRequest", function (event) { release(event.target.closest("form") || document); });

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

// The main menu on a phone: the button opens and closes it (Escape closes it too). Without JavaScript the menu is
// open (css/nojs.css); from 992 px it is a bar and the button is not shown.
document.addEventListener("DOMContentLoaded", function () {
  var toggler = document.querySelector(".nav-toggler");
  var menu = toggler && document.getElementById(toggler.getAttribute("aria-controls"));
  if (!menu) { return; }
  function show(open) {
    toggler.setAttribute("aria-expanded", open ? "true" : "false");
    menu.classList.toggle("is-open", open);
  }
  toggler.addEventListener("click", function () { show(toggler.getAttribute("aria-expanded") !== "true"); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && toggler.getAttribute("aria-expanded") === "true") {
      show(false);
      toggler.focus();
    }
  });
});

// Label sheets: a print button, shown only where JavaScript runs (Ctrl+P works everywhere).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".js-print").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});

// Live countdowns: <time data-countdown datetime="ISO"> shows "in 25 minutes" / "3 hours ago" in the page's language
// (the server wrote the first text; this keeps it current between refreshes).
(function () {
  "use strict";
  var units = [["day", 86400], ["hour", 3600], ["minute", 60]];
  function relative(format, seconds) {
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(seconds) >= units[i][1] || units[i][0] === "minute") {
        return format.format(Math.round(seconds / units[i][1]), units[i][0]);
      }
    }
  }
  function tick() {
    if (!window.Intl || !Intl.RelativeTimeFormat) { return; }
    var format = new Intl.RelativeTimeFormat(document.documentElement.lang || "zh-CN", { numeric: "always" });
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var seconds = (Date.parse(el.getAttribute("datetime")) - Date.now()) / 1000;
      el.textContent = relative(format, seconds);
      el.classList.toggle("is-overdue", seconds < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); window.setInterval(tick, 15000); });
  document.addEventListener("htmx:afterSwap", tick);
})();

// Documents: show only the select of the chosen target (model or contract); without JavaScript both show.
// A file larger than the limit is refused at once, before the upload (the server checks it anyway).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-target-choice]").forEach(function (box) {
    function sync() {
      var chosen = box.querySelector("input[type=radio]:checked");
      box.querySelectorAll("[data-target]").forEach(function (part) {
        part.hidden = !chosen || part.getAttribute("data-target") !== chosen.value;
      });
    }
    box.addEventListener("change", sync);
    sync();
  });
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var max = Number(input.getAttribute("data-max-bytes"));
      var big = Array.prototype.some.call(input.files || [], function (f) { return f.size > max; });
      input.setCustomValidity(big ? input.getAttribute("data-too-large") : "");
      if (big) { input.reportValidity(); }
    });
    input.form.addEventListener("submit", function (event) {
      if (!input.checkValidity()) { event.preventDefault(); input.reportValidity(); }
    });
  });
});
