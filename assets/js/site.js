/* linuxreport: small comforts on top of a page that works without JavaScript. */
(function () {
  "use strict";
  var units = [["d", 86400], ["h", 3600], ["min", 60]];

  function ago(seconds) {
    if (seconds < 60) { return "just now"; }
    for (var i = 0; i < units.length; i++) {
      if (seconds >= units[i][1]) {
        return Math.floor(seconds / units[i][1]) + " " + units[i][0] + " ago";
      }
    }
    return "just now";
  }

  function localTimes() {
    var now = Date.now();
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var when = new Date(times[i].getAttribute("datetime"));
      if (isNaN(when.getTime())) { continue; }
      times[i].title = when.toLocaleString();
      times[i].textContent = ago(Math.max(0, (now - when.getTime()) / 1000));
    }
  }

  document.addEventListener("DOMContentLoaded", localTimes);
})();
