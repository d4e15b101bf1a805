/* Applies saved reader settings before the first paint (loaded blocking in <head>). */
(function () {
  "use strict";
  try {
    var root = document.documentElement;
    var theme = localStorage.getItem("lr-theme");
    if (theme) { root.setAttribute("data-theme", theme); }
  } catch (e) { /* storage disabled: the report's default theme stays */ }
})();
