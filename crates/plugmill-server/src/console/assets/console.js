// The live traffic page: polls /console/live.json every two seconds and draws the calls per
// second and the p99 latency per second of the busiest plugin functions on two canvases.
(function () {
  "use strict";
  var colors = ["#1e4fa3", "#c2410c", "#15803d", "#7e22ce", "#be123c", "#0e7490", "#a16207", "#4b5563"];
  var seconds = document.getElementById("seconds");

  function text(id, value) { document.getElementById(id).textContent = value; }

  function draw(canvas, lines, unit) {
    var ctx = canvas.getContext("2d");
    var w = canvas.width, h = canvas.height, pad = 34;
    ctx.clearRect(0, 0, w, h);
    var max = 0;
    lines.forEach(function (l) { l.points.forEach(function (p) { if (p !== null && p > max) max = p; }); });
    max = max > 0 ? max * 1.1 : 1;
    ctx.strokeStyle = "#e3e6eb"; ctx.fillStyle = "#5a6474"; ctx.font = "11px sans-serif";
    for (var i = 0; i <= 4; i++) {
      var y = h - pad + (-(h - 2 * pad) * i) / 4;
      ctx.beginPath(); ctx.moveTo(pad, y); ctx.lineTo(w - 4, y); ctx.stroke();
      ctx.fillText((max * i / 4).toPrecision(3), 2, y + 3);
    }
    ctx.fillText(unit, pad, 12);
    lines.forEach(function (l) {
      var n = l.points.length;
      ctx.strokeStyle = l.color; ctx.lineWidth = l.width || 1.5; ctx.beginPath();
      var started = false;
      l.points.forEach(function (p, i) {
        if (p === null) { started = false; return; }
        var x = pad + ((w - pad - 4) * i) / Math.max(n - 1, 1);
        var y = h - pad - ((h - 2 * pad) * p) / max;
        if (started) ctx.lineTo(x, y); else { ctx.moveTo(x, y); started = true; }
      });
      ctx.stroke();
      // A second with calls between two without is a dot, not a line.
      ctx.fillStyle = l.color;
      l.points.forEach(function (p, i) {
        if (p === null || (i > 0 && l.points[i - 1] !== null) || (i + 1 < n && l.points[i + 1] !== null)) return;
        var x = pad + ((w - pad - 4) * i) / Math.max(n - 1, 1);
        var y = h - pad - ((h - 2 * pad) * p) / max;
        ctx.fillRect(x - 2, y - 2, 4, 4);
      });
    });
  }

  function fmt(v) { return v === null || v === undefined ? "–" : String(v); }

  function table(series) {
    var body = document.querySelector("#series tbody");
    body.innerHTML = "";
    if (series.length === 0) {
      var row = body.insertRow(); var cell = row.insertCell();
      cell.colSpan = 8; cell.textContent = "No plugin was called in this window.";
      return;
    }
    series.forEach(function (s, i) {
      var row = body.insertRow();
      var swatch = row.insertCell();
      if (i < colors.length && s.per_second) { swatch.innerHTML = "<span style=\"display:inline-block;width:10px;height:10px;background:" + colors[i] + "\"></span>"; }
      var errors = Object.keys(s.errors).map(function (k) { return k + " " + s.errors[k]; }).join(", ");
      [s.plugin, s.function, s.calls, (100 * s.error_rate).toFixed(1) + " %", errors || "–", fmt(s.p50_ms), fmt(s.p99_ms)]
        .forEach(function (v) { row.insertCell().textContent = v; });
    });
  }

  function update() {
    fetch("/console/live.json?seconds=" + seconds.value, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (snap) {
        text("total-calls", snap.total_calls);
        var last = snap.total_per_second.slice(-10);
        text("rate", (last.reduce(function (a, b) { return a + b; }, 0) / last.length).toFixed(1));
        text("errors", snap.total_errors);
        text("hit-rate", snap.instances.hit_rate === null ? "–" : (100 * snap.instances.hit_rate).toFixed(0) + " %");
        var drawn = snap.series.filter(function (s) { return s.per_second; });
        var calls = [{ points: snap.total_per_second, color: "#9ca3af", width: 2.5 }];
        var p99 = [];
        drawn.forEach(function (s, i) {
          calls.push({ points: s.per_second, color: colors[i % colors.length] });
          p99.push({ points: s.p99_per_second, color: colors[i % colors.length] });
        });
        draw(document.getElementById("calls-chart"), calls, "calls/s");
        draw(document.getElementById("latency-chart"), p99, "ms");
        table(snap.series);
        document.body.dataset.updated = String(snap.now);
      })
      .catch(function (e) { text("rate", "(" + e.message + ")"); });
  }
  seconds.addEventListener("change", update);
  update();
  setInterval(update, 2000);
})();
