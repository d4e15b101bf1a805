/* linuxreport: small comforts on top of a page that works without JavaScript.
   Settings (localStorage): lr-theme, lr-font, lr-underline; front page layout: lr-order,
   lr-hidden (JSON lists of feed keys). boot.js applies the settings before the first paint. */
(function () {
  "use strict";
  var doc = document, root = doc.documentElement;
  var script = doc.currentScript;
  /* Our script lives in <report root>/assets/, so the report root is one level up. */
  var base = new URL(script && script.src ? "../" : "./", script && script.src || location.href).href;
  var statusBox = doc.getElementById("lr-status");

  function $(id) { return doc.getElementById(id); }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }
  function load(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }
  function save(key, value) {
    try {
      if (value === null || value === "") { localStorage.removeItem(key); } else { localStorage.setItem(key, value); }
    } catch (e) { /* storage disabled: the choice lasts until the page closes */ }
  }
  function loadList(key) {
    try {
      var list = JSON.parse(load(key) || "[]");
      return Array.isArray(list) ? list.filter(function (x) { return typeof x === "string"; }) : [];
    } catch (e) { return []; }
  }
  function say(text) {
    if (!statusBox) { return; }
    statusBox.textContent = "";
    setTimeout(function () { statusBox.textContent = text; }, 60);
  }

  /* ---- Theme, font, underline ---- */
  var dark = window.matchMedia ? matchMedia("(prefers-color-scheme: dark)") : null;
  var fallback = root.getAttribute("data-theme-default") || "light";

  function applyTheme() {
    var theme = load("lr-theme");
    if (!theme || theme === "auto" || !/^[a-z]+$/.test(theme)) {
      theme = (fallback === "light" || fallback === "sepia") && dark && dark.matches ? "dark" : fallback;
    }
    root.setAttribute("data-theme", theme);
    var meta = doc.querySelector('meta[name="theme-color"]');
    if (meta) { meta.setAttribute("content", getComputedStyle(doc.body).backgroundColor); }
  }
  function applyFont() {
    var font = load("lr-font");
    if (/^(sans|serif|mono)$/.test(font || "")) { root.setAttribute("data-font", font); } else { root.removeAttribute("data-font"); }
    root.toggleAttribute("data-underline", load("lr-underline") === "1");
  }
  function applySettings() { applyTheme(); applyFont(); }

  function pick(select, value) {
    select.value = value;
    if (select.value !== value) { select.selectedIndex = 0; } /* unknown saved value: the default */
  }
  var themeSelect = $("lr-theme"), fontSelect = $("lr-font"), underline = $("lr-underline");
  var toggle = $("lr-settings-toggle"), panel = $("lr-settings");
  function syncControls() {
    if (themeSelect) { pick(themeSelect, load("lr-theme") || "auto"); }
    if (fontSelect) { pick(fontSelect, load("lr-font") || ""); }
    if (underline) { underline.checked = load("lr-underline") === "1"; }
  }
  [[themeSelect, "lr-theme"], [fontSelect, "lr-font"]].forEach(function (pair) {
    if (!pair[0]) { return; }
    pair[0].addEventListener("change", function () {
      save(pair[1], pair[0].value === "auto" ? null : pair[0].value);
      applySettings();
    });
  });
  if (underline) {
    underline.addEventListener("change", function () {
      save("lr-underline", underline.checked ? "1" : null);
      applyFont();
    });
  }
  syncControls();
  if (toggle && panel) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        panel.hidden = true;
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }
  if (dark && dark.addEventListener) { dark.addEventListener("change", applyTheme); }
  window.addEventListener("storage", function () { applySettings(); syncControls(); applyLayout(); });
  applyTheme();

  /* ---- Feed boxes: paging, hiding, reordering ---- */
  var columns = doc.querySelector(".columns");
  var boxes = columns ? Array.prototype.slice.call(columns.querySelectorAll(".feed[data-key]")) : [];
  var original = boxes.map(keyOf);
  var hiddenBar = $("lr-hidden-feeds");

  function keyOf(box) { return box.getAttribute("data-key"); }
  function titleOf(box) {
    var title = box.querySelector(".feed-title");
    return title ? title.textContent.trim() : keyOf(box);
  }
  function byKey(key) {
    for (var i = 0; i < boxes.length; i++) { if (keyOf(boxes[i]) === key) { return boxes[i]; } }
    return null;
  }
  function visibleBoxes() {
    return Array.prototype.filter.call(columns.children, function (b) { return b.hasAttribute("data-key") && !b.hidden; });
  }
  function focusBox(box) {
    var target = box && (box.querySelector(".feed-title a") || box.querySelector(".feed-tools button"));
    if (target) { target.focus(); }
  }

  function applyLayout() {
    if (!columns) { return; }
    var order = loadList("lr-order").filter(function (k, i, all) { return byKey(k) && all.indexOf(k) === i; });
    original.forEach(function (key, i) {
      if (order.indexOf(key) < 0) { order.splice(Math.min(i, order.length), 0, key); }
    });
    var hidden = loadList("lr-hidden"), now = columns.querySelectorAll(".feed[data-key]"), moving = false;
    order.forEach(function (key, i) {
      var box = byKey(key), hide = hidden.indexOf(key) >= 0;
      if (box.hidden !== hide) { box.hidden = hide; }
      /* Append from the first box out of place on: the rest follow in order. */
      if (moving || now[i] !== box) { moving = true; columns.appendChild(box); }
    });
    updateTools();
  }
  function saveLayout() {
    var order = Array.prototype.map.call(columns.querySelectorAll(".feed[data-key]"), keyOf);
    var hidden = boxes.filter(function (b) { return b.hidden; }).map(keyOf);
    var moved = order.join() !== original.join();
    save("lr-order", moved ? JSON.stringify(order) : null);
    save("lr-hidden", hidden.length ? JSON.stringify(hidden) : null);
  }
  function updateTools() {
    var shown = visibleBoxes();
    shown.forEach(function (box, i) {
      box.querySelector('[data-act="up"]').setAttribute("aria-disabled", String(i === 0));
      box.querySelector('[data-act="down"]').setAttribute("aria-disabled", String(i === shown.length - 1));
    });
    if (!hiddenBar) { return; }
    var list = hiddenBar.querySelector("ul");
    list.textContent = "";
    boxes.forEach(function (box) {
      if (!box.hidden) { return; }
      var item = doc.createElement("li"), button = doc.createElement("button");
      button.type = "button";
      button.textContent = "Show " + titleOf(box);
      button.setAttribute("data-show", keyOf(box));
      item.appendChild(button);
      list.appendChild(item);
    });
    hiddenBar.hidden = !list.children.length;
  }
  function resetLayout() {
    save("lr-order", null);
    save("lr-hidden", null);
    applyLayout();
    say("Feed layout reset: every feed is shown in its original order.");
  }

  function move(box, step) {
    var shown = visibleBoxes(), at = shown.indexOf(box), to = at + step;
    if (to < 0 || to >= shown.length) {
      say(titleOf(box) + " is already " + (step < 0 ? "first." : "last."));
      return;
    }
    columns.insertBefore(box, step < 0 ? shown[to] : shown[to].nextSibling);
    saveLayout();
    updateTools();
    box.querySelector('[data-act="' + (step < 0 ? "up" : "down") + '"]').focus();
    say(titleOf(box) + " moved to position " + (to + 1) + " of " + shown.length + ".");
  }
  function hide(box) {
    var shown = visibleBoxes(), at = shown.indexOf(box);
    box.hidden = true;
    saveLayout();
    updateTools();
    var next = shown[at + 1] || shown[at - 1];
    if (next) { focusBox(next); } else if (hiddenBar) { hiddenBar.querySelector("button").focus(); }
    say(titleOf(box) + " hidden. Show it again from the list of hidden feeds above the columns.");
  }
  function page(box, step) {
    var per = parseInt(box.getAttribute("data-shown"), 10) || 8;
    var items = box.querySelectorAll(".entries > li"), first = 0;
    while (first < items.length && items[first].hidden) { first++; }
    var pages = Math.ceil(items.length / per);
    var now = Math.max(0, Math.min(pages - 1, Math.floor(first / per) + step));
    each(items, function (item, i) { item.hidden = i < now * per || i >= (now + 1) * per; });
    var newer = box.querySelector('[data-act="newer"]'), older = box.querySelector('[data-act="older"]');
    var focused = doc.activeElement;
    newer.disabled = now === 0;
    older.disabled = now === pages - 1;
    if (focused === newer && newer.disabled) { older.focus(); }
    if (focused === older && older.disabled) { newer.focus(); }
    box.querySelector(".page-no").textContent = (now + 1) + " / " + pages;
    say(titleOf(box) + ": page " + (now + 1) + " of " + pages + ".");
  }

  if (columns) {
    boxes.forEach(function (box) {
      each(box.querySelectorAll(".feed-tools, .pager"), function (el) { el.hidden = false; });
      each(box.querySelectorAll(".more"), function (el) { el.hidden = true; });
    });
    columns.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-act]");
      var box = button && button.closest(".feed[data-key]");
      if (!box) { return; }
      var act = button.getAttribute("data-act");
      if (act === "up" || act === "down") { move(box, act === "up" ? -1 : 1); }
      if (act === "hide") { hide(box); }
      if (act === "newer" || act === "older") { page(box, act === "newer" ? -1 : 1); }
    });
    applyLayout();
  }
  if (hiddenBar) {
    hiddenBar.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) { return; }
      var box = byKey(button.getAttribute("data-show") || "");
      if (box) {
        box.hidden = false;
        saveLayout();
        updateTools();
        focusBox(box);
        say(titleOf(box) + " shown again.");
      } else {
        resetLayout();
        focusBox(visibleBoxes()[0]);
      }
    });
  }
  if ($("lr-reset")) { $("lr-reset").addEventListener("click", resetLayout); }

  /* ---- Times: the reader's local time, and how long ago ---- */
  var format = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }) : null;
  var dayFormat = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }) : null;
  function ago(seconds, when) {
    if (seconds < 60) { return "just now"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min ago"; }
    if (seconds < 86400) { return Math.floor(seconds / 3600) + " h ago"; }
    if (seconds < 7 * 86400) { return Math.floor(seconds / 86400) + " d ago"; }
    return dayFormat ? dayFormat.format(when) : when.toLocaleDateString();
  }
  function localTimes() {
    var now = Date.now();
    each(doc.querySelectorAll("time[datetime]"), function (time) {
      var value = time.getAttribute("datetime");
      if (value.indexOf("T") < 0) { return; } /* a day, not a moment: leave it */
      var when = new Date(value);
      if (isNaN(when.getTime())) { return; }
      var local = format ? format.format(when) : when.toLocaleString();
      var seconds = (now - when.getTime()) / 1000;
      time.title = local;
      time.textContent = seconds < -60 ? local : ago(Math.max(0, seconds), when);
    });
  }
  localTimes();
  setInterval(localTimes, 60000);

  /* ---- Auto-refresh when a newer build is published (only while the tab is visible) ---- */
  var refreshMeta = doc.querySelector('meta[name="lr-refresh-minutes"]');
  var minutes = parseFloat(refreshMeta ? refreshMeta.getAttribute("content") : "");
  var versionUrl = new URL("version.json", base).href, known = null;
  function visible() { return doc.visibilityState !== "hidden"; }
  function checkVersion() {
    if (!visible() || !window.fetch) { return; }
    fetch(versionUrl, { cache: "no-cache" }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (data) {
      var version = data && data.version;
      if (!version) { return; }
      if (known === null) { known = version; } else if (version !== known && visible()) { location.reload(); }
    }).catch(function () { /* offline: try again later */ });
  }
  checkVersion();
  setInterval(checkVersion, (minutes > 0 ? minutes : 5) * 60000);
  doc.addEventListener("visibilitychange", function () { if (visible()) { checkVersion(); } });

  /* ---- Offline copy of the last visited front page ---- */
  if ("serviceWorker" in navigator && /^https?:$/.test(location.protocol)) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(new URL("sw.js", base).href).catch(function () { /* no offline copy */ });
    });
  }
})();
