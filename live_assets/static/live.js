// A station's live page. It reads /api/feed/{tenant} with the viewer token of its link
// (#token=…: a fragment, which browsers never send to a server), as an Authorization header,
// draws with the vendored uPlot and refreshes every 30 s while it is seen, every 5 minutes while
// hidden (a background tab), at once when seen again. The browser's HTTP cache does the rest:
// the answer's max-age says when new numbers can be there, and its ETag turns an unchanged
// answer into a 304 without a body. No inline code: the page's Content-Security-Policy allows
// scripts from the app only.
//
// Honest numbers, each labelled with its rule (docs/measurement.md): the lead figure is
// sessions of a minute or more, bots out; raw connections and HLS addresses stand beside it,
// never added to it (different units); a figure whose series is stale is not shown as now; a
// sample where a server did not answer is marked partial; a gap longer than the series' gap limit breaks its line (uPlot draws a null as
// a gap and skips an undefined). Event types are data (a Map), never object keys.
(function () {
  "use strict";
  var app = document.getElementById("app");
  var tenant = app.dataset.tenant;
  // The token leaves the address bar (and so the history and a copied address) once read; this
  // tab keeps it for reloads only (sessionStorage ends with the tab).
  var token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  var stored = "fabrik-view-token:" + tenant;
  try {
    if (token) {
      window.sessionStorage.setItem(stored, token);
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    } else {
      token = window.sessionStorage.getItem(stored);
    }
  } catch (e) { /* storage refused (private mode): the token stays in memory for this load */ }
  var charts = new Map();
  var span = null;  // [from, to] of the last answer, in seconds: every chart shows the whole window
  var clockFormat = new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  var WORDS = {icecast: "Listener numbers, audio stream", hls: "Listener numbers, app and web player",
               matomo: "Website visitors"};
  var PLAYERS = [["client:app", "Your app"], ["client:browser", "Web browsers"],
                 ["client:player", "Other apps and players (VLC, Sonos, radio apps)"], ["client:other", "Not known"],
                 ["client:bot", "Bots and tools (not counted as listeners)"]];
  var DEVICES = [["device:mobile", "Phones and tablets"], ["device:computer", "Computers"],
                 ["device:smart_speaker", "Smart speakers"], ["device:smart_tv", "TVs"], ["device:watch", "Watches"],
                 ["device:auto", "Cars"], ["device:unknown", "Not known"]];
  var QUARTER_MS = 15 * 60 * 1000, HOUR_MS = 3600 * 1000;
  var regionNames = typeof Intl.DisplayNames === "function" ?
    new Intl.DisplayNames([navigator.language || "en"], {type: "region"}) : null;
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];

  function clock(ms) { return clockFormat.format(new Date(ms)); }

  function notice(message) {
    var el = document.getElementById("notice");
    el.hidden = !message;
    el.textContent = message || "";
    app.dataset.notice = message ? "shown" : "";
  }

  function lastRow(rows) { return rows.length ? rows[rows.length - 1] : null; }

  // One tile: its value, its state (fresh, stale, none) and a note in words.
  function tile(id, value, state, note, partial) {
    var el = document.getElementById(id);
    var shown = state === "fresh" && value !== null && value !== undefined;
    el.querySelector(".value").textContent = shown ? String(value) : "–";
    el.querySelector(".note").textContent = note || "";
    el.dataset.state = state;
    el.dataset.value = shown ? String(value) : "";
    el.dataset.partial = partial ? "true" : "false";
  }

  function stateNote(fresh, row) {
    if (fresh.state === "none") { return "no numbers in the last two hours"; }
    if (fresh.state === "stale") { return "delayed since " + clock(fresh.newest); }
    return "at " + clock(row.time);
  }

  // uPlot wants [[x…], [y…], …] with x in seconds, all series on the same x. A series has
  // undefined where it has no sample (skipped), and a null just after any sample followed by a
  // silence longer than its gap limit (a break in the line).
  function columns(series) {
    var xs = new Set();
    series.forEach(function (s) {
      s.rows.forEach(function (row, i) {
        xs.add(row.time);
        var next = s.rows[i + 1];
        if (next && next.time - row.time > s.gapMs) { xs.add(row.time + 1); }
      });
    });
    var times = Array.from(xs).sort(function (a, b) { return a - b; });
    var index = new Map(times.map(function (t, i) { return [t, i]; }));
    var data = [times.map(function (t) { return t / 1000; })];
    series.forEach(function (s) {
      var ys = new Array(times.length);
      s.rows.forEach(function (row, i) {
        if (row[s.key] !== undefined) { ys[index.get(row.time)] = row[s.key]; }
        var next = s.rows[i + 1];
        if (next && next.time - row.time > s.gapMs) {
          // The whole silence is null, not only its first millisecond: uPlot drops a gap narrower
          // than a pixel and joins across the other series' times (where this one is undefined).
          for (var k = index.get(row.time) + 1; k < index.get(next.time); k++) { ys[k] = null; }
        }
      });
      data.push(ys);
    });
    return data;
  }

  function draw(id, series) {
    var el = document.getElementById(id);
    var data = columns(series);
    el.dataset.points = String(data[0].length);
    el.dataset.gaps = String(data.slice(1).reduce(function (n, ys) {  // breaks: runs of nulls
      return n + ys.filter(function (y, i) { return y === null && ys[i - 1] !== null; }).length;
    }, 0));
    el.dataset.series = series.map(function (s) { return s.label; }).join("|");
    el.dataset.last = series.map(function (s, i) {
      var ys = data[i + 1];
      for (var j = ys.length - 1; j >= 0; j--) { if (ys[j] !== null && ys[j] !== undefined) { return s.label + "=" + ys[j]; } }
      return s.label + "=";
    }).join("|");
    var signature = el.dataset.series;
    var known = charts.get(id);
    if (known && known.signature === signature) {
      known.plot.setData(data);
      afterDraw(el, known.plot, data);
      return;
    }
    if (known) { known.plot.destroy(); }
    var opts = {
      width: chartWidth(el), height: 220,
      scales: {x: {time: true, range: function (u, min, max) { return span || [min, max]; }}},
      series: [{value: function (u, v) { return v === null ? "–" : clock(v * 1000); }}].concat(series.map(function (s, i) {
        return {label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false};
      })),
      axes: [{values: function (u, splits) { return splits.map(function (v) { return clock(v * 1000); }); }}, {}],
      // On a touch screen nothing hovers: the legend shows the newest values until a finger
      // (or the mouse) points at a time, and again when it leaves.
      hooks: {
        setCursor: [function (u) { if (u.cursor.idx === null || u.cursor.idx === undefined) { showNewest(u); } }],
        draw: [function (u) { markBreaks(el, u); }]
      }
    };
    var plot = new uPlot(opts, data, el);
    charts.set(id, {signature: signature, plot: plot});
    afterDraw(el, plot, data);
  }

  // The chart's width is its card's: never wider than the screen (a phone's card is ~310 px).
  function chartWidth(el) { return Math.max(200, Math.floor(el.clientWidth || 320)); }

  // Each series' newest value (its own last sample: the series need not share the last time).
  function showNewest(u) {
    var idxs = u.data.map(function (ys, s) {
      for (var i = ys.length - 1; i >= 0; i--) { if (s === 0 || (ys[i] !== null && ys[i] !== undefined)) { return i; } }
      return null;
    });
    if (idxs[0] !== null) { u.setLegend({idx: idxs[0], idxs: idxs}); }
  }

  // After each draw: the newest values in the legend, and the chart's width against its card.
  function afterDraw(el, plot, data) {
    showNewest(plot);
    el.dataset.width = String(plot.width);
    el.dataset.card = String(el.clientWidth);
    app.dataset.overflow = String(document.documentElement.scrollWidth > window.innerWidth + 1);

  }

  // Where each line breaks, as drawn: "series:x0-x1@top+height" in CSS pixels of the page (the
  // samples either side of the break, and the plot area), so a test can look at the drawing.
  function markBreaks(el, u) {
    var box = u.over.getBoundingClientRect();
    var breaks = [];
    u.data.slice(1).forEach(function (ys, s) {
      for (var i = 0; i < ys.length; i++) {
        if (ys[i] !== null || ys[i - 1] === null) { continue; }  // the first null of each run
        var before = i - 1, after = i + 1;
        while (before >= 0 && (ys[before] === null || ys[before] === undefined)) { before--; }
        while (after < ys.length && (ys[after] === null || ys[after] === undefined)) { after++; }
        if (before >= 0 && after < ys.length) {
          breaks.push(s + ":" + Math.round(box.left + window.scrollX + u.valToPos(u.data[0][before], "x")) + "-" +
                      Math.round(box.left + window.scrollX + u.valToPos(u.data[0][after], "x")) + "@" +
                      Math.round(box.top + window.scrollY) + "+" + Math.round(box.height));
        }
      }
    });
    el.dataset.breaks = breaks.join(" ");
  }

  // Redrawn to the card's new width on resize and rotation.
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(function () {
      charts.forEach(function (chart, id) {
        var el = document.getElementById(id), width = chartWidth(el);
        if (Math.abs(chart.plot.width - width) > 1) { chart.plot.setSize({width: width, height: 220}); }
        el.dataset.width = String(chart.plot.width);
        el.dataset.card = String(el.clientWidth);
      });
    }).observe(app);
  }

  // An event type in words: "app.play" is "app play" (types are the platform's data, so only
  // their punctuation is changed; the label never runs as markup).
  function eventWords(type) { return type.replace(/[._:-]+/g, " "); }

  function countryName(code) {
    if (code === "other") { return "Other countries"; }
    if (code === "unknown") { return "Not known"; }
    try { return (regionNames && regionNames.of(code)) || code; } catch (e) { return code; }
  }

  // A list of labelled bars, largest first; data-key/data-value per item for people and tests.
  function bars(id, items, empty) {
    var list = document.getElementById(id);
    list.textContent = "";
    var shown = items.filter(function (item) { return item[2] > 0; });
    if (!shown.length) {
      var none = document.createElement("li");
      none.className = "empty";
      none.textContent = empty;
      list.appendChild(none);
      return;
    }
    var most = Math.max.apply(null, shown.map(function (item) { return item[2]; }));
    shown.forEach(function (item) {
      var li = document.createElement("li");
      li.dataset.key = item[0];
      li.dataset.value = String(item[2]);
      var label = document.createElement("span");
      label.textContent = item[1];
      var bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = Math.max(2, Math.round(100 * item[2] / most)) + "%";
      var n = document.createElement("span");
      n.className = "n";
      n.textContent = String(item[2]);
      li.append(label, bar, n);
      list.appendChild(li);
    });
  }

  // Countries of the up-to-date samples only (audio stream and HLS added up; never an old one).
  function showWhere(parts) {
    var totals = new Map();
    parts.forEach(function (p) {
      if (p[0].state !== "fresh" || !p[1]) { return; }
      Object.keys(p[1]).forEach(function (key) {
        if (key.indexOf("country:") === 0) { totals.set(key.slice(8), (totals.get(key.slice(8)) || 0) + p[1][key]); }
      });
    });
    var items = Array.from(totals.entries()).map(function (e) { return [e[0], countryName(e[0]), e[1]]; });
    items.sort(function (a, b) {
      var rank = function (c) { return c === "other" || c === "unknown" ? 1 : 0; };
      return rank(a[0]) - rank(b[0]) || b[2] - a[2] || a[1].localeCompare(b[1]);
    });
    bars("countries", items, "No countries yet (they need the country database, and up-to-date numbers).");
  }

  function showPlayers(fresh, row) {
    var items = fresh.state === "fresh" && row ? PLAYERS.map(function (p) { return [p[0], p[1], row[p[0]] || 0]; }) : [];
    items.sort(function (a, b) { return b[2] - a[2]; });
    bars("players", items, "No up-to-date numbers from the audio stream.");
  }

  function showDevices(fresh, row) {
    var items = fresh.state === "fresh" && row ? DEVICES.map(function (d) { return [d[0], d[1], row[d[0]] || 0]; }) : [];
    items.sort(function (a, b) { return b[2] - a[2]; });
    bars("devices", items, "No up-to-date numbers from the audio stream.");
  }

  // Listening hours of the last hour: the qualifying sessions' seconds of the samples in it, of
  // every path that is up to date.
  function showHours(paths, end) {
    var fresh = paths.filter(function (p) { return p[1].state === "fresh"; });
    var seconds = fresh.reduce(function (total, p) {
      return p[0].reduce(function (n, r) {
        return r.time > end - HOUR_MS && r.listening_seconds ? n + r.listening_seconds : n;
      }, total);
    }, 0);
    var stale = paths.some(function (p) { return p[1].state === "stale"; });
    tile("tile-hours", fresh.length && !stale ? (seconds / 3600).toFixed(1) : null,
         fresh.length === 0 ? "none" : stale ? "stale" : "fresh", "sessions of a minute or more", false);
  }

  // Persons of the clock quarter hour on air: 5 minutes or more in it (each path's newest
  // sample, if it is in this quarter).
  function showQuarter(paths, end) {
    var start = end - end % QUARTER_MS;
    document.querySelector("#tile-aqh .window").textContent = "(since " + clock(start) + ")";
    var inQuarter = paths.filter(function (p) {
      return p[0] && p[1].state === "fresh" && p[0].time >= start && p[0].aqh_persons !== undefined;
    });
    var value = inQuarter.reduce(function (n, p) { return n + p[0].aqh_persons; }, 0);
    tile("tile-aqh", inQuarter.length ? value : null, inQuarter.length ? "fresh" : "none",
         inQuarter.length ? "5 minutes or more in this quarter hour" : "not yet in this quarter hour", false);
  }

  function showFreshness(freshness) {
    var list = document.getElementById("freshness-list");
    list.textContent = "";
    ["icecast", "hls", "matomo"].forEach(function (name) {
      var f = freshness[name];
      if (!f) { return; }
      var li = document.createElement("li");
      li.dataset.state = f.state;
      li.dataset.series = name;
      li.textContent = WORDS[name] + ": " + (f.state === "fresh" ? "up to date (" + clock(f.newest) + ")" :
        f.state === "stale" ? "delayed since " + clock(f.newest) : "no numbers in the last two hours");
      list.appendChild(li);
    });
  }

  var skew = null, lastTo = null;  // the server's clock against this one, from the newest answer

  function render(feed) {
    if (feed.to !== lastTo) {  // a new answer; a 304 hands back the one before, with its old window
      lastTo = feed.to;
      skew = Date.now() - feed.to;
    }
    var end = Date.now() - skew;
    span = [(end - (feed.to - feed.from)) / 1000, end / 1000];
    var s = feed.series || {}, fresh = feed.freshness || {};
    var ice = s.icecast || [], hls = s.hls || [], mat = s.matomo || [];
    var none = {state: "none", newest: null, gap_after_s: 75};
    var fIce = fresh.icecast || none, fHls = fresh.hls || none, fMat = fresh.matomo || none;
    var iceRow = lastRow(ice), hlsRow = lastRow(hls), matRow = lastRow(mat);
    var partial = iceRow !== null && fIce.state === "fresh" && (iceRow.servers_failed || 0) > 0;
    // Sessions of a minute or more: the same rule on both paths, so they add up (only when
    // every path that has them is up to date: never fresh + old).
    var counted = [[fIce, iceRow], [fHls, hlsRow]].filter(function (p) {
      return p[0].state !== "none" && p[1] && p[1].active_sessions !== undefined;
    });
    var late = counted.some(function (p) { return p[0].state === "stale"; });
    var sessions = counted.length && !late ?
      counted.reduce(function (n, p) { return n + p[1].active_sessions; }, 0) : null;
    tile("tile-sessions", sessions, counted.length === 0 ? (fIce.state === "none" ? "none" : fIce.state) :
           late ? "stale" : "fresh",
         (late ? "waiting for up-to-date numbers from every stream" :
           counted.length > 1 ? "audio stream and app/web player" : "audio stream") +
           "; bots and visits under a minute left out" +
           (partial ? "; partial: a streaming server did not answer" : ""), partial);
    tile("tile-icecast", iceRow && iceRow.listeners, fIce.state,
         stateNote(fIce, iceRow) + (partial ? "; partial: a streaming server did not answer" : ""), partial);
    tile("tile-hls", hlsRow && hlsRow.listeners, fHls.state,
         stateNote(fHls, hlsRow) + "; devices with a request in the last 30 seconds", false);
    showHours([[ice, fIce], [hls, fHls]], end);
    showQuarter([[iceRow, fIce], [hlsRow, fHls]], end);    document.querySelector("#tile-visitors .window").textContent =
      "(last " + (feed.visitor_window_minutes || 3) + " minutes)";
    tile("tile-visitors", matRow && matRow.visitors, fMat.state, stateNote(fMat, matRow), false);
    tile("tile-actions", matRow && matRow.actions, fMat.state, stateNote(fMat, matRow), false);
    var events = feed.events || {total: 0, per_minute: {}};
    tile("tile-events", events.total, "fresh", events.truncated ? "at least this many" : "", false);
    showFreshness(fresh);
    showWhere([[fIce, iceRow], [fHls, hlsRow]]);
    showPlayers(fIce, iceRow);
    showDevices(fIce, iceRow);

    var gap = function (f) { return (f.gap_after_s || 75) * 1000; };
    draw("chart-listeners", [{label: "A minute or more (audio stream)", key: "active_sessions", rows: ice, gapMs: gap(fIce)},
                             {label: "A minute or more (app and web player)", key: "active_sessions", rows: hls, gapMs: gap(fHls)},
                             {label: "Audio stream connections", key: "listeners", rows: ice, gapMs: gap(fIce)},
                             {label: "App and web player devices", key: "listeners", rows: hls, gapMs: gap(fHls)}]);
    var mounts = new Set();
    ice.forEach(function (r) { Object.keys(r).forEach(function (k) { if (k.indexOf("mount:") === 0) { mounts.add(k); } }); });
    draw("chart-mounts", Array.from(mounts).sort().map(function (k) {
      return {label: k.slice(6), key: k, rows: ice, gapMs: gap(fIce)};
    }));
    draw("chart-matomo", [{label: "Visitors", key: "visitors", rows: mat, gapMs: gap(fMat)},
                          {label: "Page views and clicks", key: "actions", rows: mat, gapMs: gap(fMat)}]);
    var perMinute = new Map(Object.entries(events.per_minute || {}));
    draw("chart-events", Array.from(perMinute.keys()).sort().map(function (type) {
      var rows = perMinute.get(type).map(function (pair) { return {time: pair[0], n: pair[1]}; });
      return {label: eventWords(type), key: "n", rows: rows, gapMs: Infinity};
    }));
  }

  function refresh() {
    return fetch("../feed/" + encodeURIComponent(tenant), {
      headers: {"Accept": "application/json", "Authorization": "Bearer " + token}, credentials: "omit", cache: "default"})
      .then(function (r) { return r.json().then(function (body) { return {status: r.status, body: body}; }); })
      .then(function (answer) {
        if (answer.status === 401 || answer.status === 403) {
          notice("This link no longer opens the page: " + (answer.body.error || "it is not valid").split(":")[0] +
                 ". Ask your contact at Fabrik for a new link.");
        } else if (answer.status !== 200) {
          notice("The live numbers are not available right now; the page tries again in 30 seconds.");
        } else {
          notice("");
          render(answer.body);
          document.getElementById("updated").textContent = "Updated at " + clock(Date.now()) + ".";
          app.dataset.drawn = String(Number(app.dataset.drawn || "0") + 1);
        }
      })
      .catch(function () { notice("The page cannot reach the live numbers; it tries again in 30 seconds."); });
  }

  if (!token) {
    notice("This page needs the whole link you were given (it ends with #token=…). " +
           "Ask your contact at Fabrik for a new link.");
    return;
  }
  var timer = null, last = 0;
  function tick() {
    last = Date.now();
    refresh().then(schedule, schedule);
  }
  function schedule() {
    window.clearTimeout(timer);
    var wait = document.hidden ? 300000 : 30000;
    app.dataset.refreshMs = String(wait);  // what the page does next, for tests and curious viewers
    timer = window.setTimeout(tick, wait);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - last >= 30000) {
      tick();
    } else {
      schedule();
    }
  });
  tick();
}());
