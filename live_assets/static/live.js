// The live page: reads /api/live/{tenant} and /api/health with the function key the page was
// opened with (?code=…), draws with the vendored uPlot, refreshes every 30 s. No inline code:
// the page's Content-Security-Policy allows scripts from the app only.
(function () {
  "use strict";
  var app = document.getElementById("app");
  var tenant = app.dataset.tenant;
  var key = new URLSearchParams(window.location.search).get("code");
  var charts = {};
  var span = null;  // [from, to] of the last answer, in seconds: every chart shows the whole window

  function url(path) {
    return path + (key ? "?code=" + encodeURIComponent(key) : "");
  }

  function getJSON(path) {
    return fetch(url(path), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); });
  }

  function text(id, value) {
    var el = document.getElementById(id);
    el.textContent = value === null || value === undefined ? "–" : String(value);
    el.dataset.value = value === null || value === undefined ? "" : String(value);
  }

  function last(points, field) {
    for (var i = points.length - 1; i >= 0; i--) {
      if (points[i][field] !== undefined) { return points[i][field]; }
    }
    return null;
  }

  // uPlot wants [[x…], [y…], …] with x in seconds; series without a value at an x get null.
  function columns(rows, fields) {
    var times = {};
    rows.forEach(function (row) { times[row.time] = true; });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var index = {};
    xs.forEach(function (x, i) { index[x] = i; });
    var data = [xs.map(function (x) { return x / 1000; })];
    fields.forEach(function (f) {
      var ys = xs.map(function () { return null; });
      rows.forEach(function (row) { if (row[f.key] !== undefined && row.source === f.source) { ys[index[row.time]] = row[f.key]; } });
      data.push(ys);
    });
    return data;
  }

  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

  function draw(id, fields, data) {
    var el = document.getElementById(id);
    el.dataset.points = String(data[0].length);
    el.dataset.series = fields.map(function (f) { return f.label; }).join("|");
    el.dataset.last = fields.map(function (f, i) {
      var ys = data[i + 1];
      for (var j = ys.length - 1; j >= 0; j--) { if (ys[j] !== null) { return f.label + "=" + ys[j]; } }
      return f.label + "=";
    }).join("|");
    var signature = el.dataset.series;
    if (charts[id] && charts[id].signature === signature) {
      charts[id].plot.setData(data);
      return;
    }
    if (charts[id]) { charts[id].plot.destroy(); }
    var opts = {
      width: Math.max(320, el.clientWidth || 900), height: 220,
      scales: {x: {time: true, range: function (u, min, max) { return span || [min, max]; }}},
      series: [{}].concat(fields.map(function (f, i) {
        return {label: f.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true};
      })),
      axes: [{}, {}]
    };
    charts[id] = {signature: signature, plot: new uPlot(opts, data, el)};
  }

  function showHealth(result) {
    var state = document.getElementById("health-state");
    var list = document.getElementById("health-problems");
    list.textContent = "";
    var body = result.body || {};
    app.dataset.health = body.status || "unknown";
    state.textContent = body.status === "ok" ? "All collectors are fresh." :
      body.status === "failing" ? "Some collectors are stale or failing:" : "Health unavailable.";
    (body.problems || []).forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.function + " " + p.source + ": " + p.state + (p.since ? " since " + p.since : "") +
        (p.error ? " (" + p.error + ")" : "");
      list.appendChild(li);
    });
  }

  function render(live) {
    span = [live.from / 1000, live.to / 1000];
    var s = live.series || {};
    var ice = s.icecast || [], hls = s.hls || [], mat = s.matomo || [];
    var iceNow = last(ice, "listeners"), hlsNow = last(hls, "listeners");
    text("now-icecast", iceNow);
    text("now-hls", hlsNow);
    text("now-listeners", iceNow === null && hlsNow === null ? null : (iceNow || 0) + (hlsNow || 0));
    text("now-visitors", last(mat, "visitors"));
    text("now-actions", last(mat, "actions"));
    text("now-events", live.events ? live.events.total : null);

    var rows = ice.map(function (r) { return Object.assign({source: "icecast"}, r); })
      .concat(hls.map(function (r) { return Object.assign({source: "hls"}, r); }));
    draw("chart-listeners", [{label: "Icecast", key: "listeners", source: "icecast"},
                             {label: "HLS", key: "listeners", source: "hls"}], columns(rows, [
      {key: "listeners", source: "icecast"}, {key: "listeners", source: "hls"}]));

    var mounts = {};
    ice.forEach(function (r) { Object.keys(r).forEach(function (k) { if (k.indexOf("mount:") === 0) { mounts[k] = true; } }); });
    var mountFields = Object.keys(mounts).sort().map(function (k) { return {label: k.slice(6), key: k, source: "icecast"}; });
    draw("chart-mounts", mountFields, columns(rows.filter(function (r) { return r.source === "icecast"; }), mountFields));

    var matRows = mat.map(function (r) { return Object.assign({source: "matomo"}, r); });
    var matFields = [{label: "Visitors", key: "visitors", source: "matomo"}, {label: "Actions", key: "actions", source: "matomo"}];
    draw("chart-matomo", matFields, columns(matRows, matFields));

    var perMinute = (live.events && live.events.per_minute) || {};
    var evRows = [];
    Object.keys(perMinute).sort().forEach(function (type) {
      perMinute[type].forEach(function (pair) {
        var row = {source: "events", time: pair[0]};
        row[type] = pair[1];
        evRows.push(row);
      });
    });
    var evFields = Object.keys(perMinute).sort().map(function (t) { return {label: t, key: t, source: "events"}; });
    draw("chart-events", evFields, columns(evRows, evFields));
  }

  function refresh() {
    var error = document.getElementById("error");
    return Promise.all([getJSON("../live/" + encodeURIComponent(tenant)), getJSON("../health")])
      .then(function (answers) {
        var live = answers[0];
        if (live.status !== 200) {
          error.hidden = false;
          error.textContent = (live.body && live.body.error) || ("the live API answered " + live.status);
        } else {
          error.hidden = true;
          render(live.body);
        }
        showHealth(answers[1]);
        document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString() + ".";
        app.dataset.drawn = String(Number(app.dataset.drawn || "0") + 1);
      })
      .catch(function (e) {
        error.hidden = false;
        error.textContent = "cannot reach the live API: " + e;
      });
  }

  refresh();
  window.setInterval(refresh, 30000);
}());
