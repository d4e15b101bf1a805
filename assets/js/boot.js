/* Applies saved reader settings before the first paint (loaded blocking in <head>).
   Theme "auto" (or none saved) follows the system: a light report default turns dark
   when the reader's system prefers dark. site.js repeats this rule when settings change. */
(function () {
  "use strict";
  var root = document.documentElement;
  var fallback = root.getAttribute("data-theme-default") || "light";
  var theme = "", font = "", underline = "";
  root.className = root.className.replace(/\bno-js\b/, "js");
  try {
    theme = localStorage.getItem("lr-theme") || "";
    font = localStorage.getItem("lr-font") || "";
    underline = localStorage.getItem("lr-underline") || "";
  } catch (e) { /* storage disabled: the report's defaults stay */ }
  if (!/^[a-z]+$/.test(theme) || theme === "auto") {
    theme = (fallback === "light" || fallback === "sepia") && window.matchMedia &&
      matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : fallback;
  }
  root.setAttribute("data-theme", theme);
  if (/^(sans|serif|mono)$/.test(font)) { root.setAttribute("data-font", font); }
  if (underline === "1") { root.setAttribute("data-underline", ""); }
})();
