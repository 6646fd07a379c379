/* The command-centre workbench (templates/dispatch/workbench.html): ticking cases for bulk actions,
 * and the map of open cases, clustered with Leaflet.markercluster. The points come from
 * dispatch:map_points under the same filters as the queue (the server scopes and caps them). */
(function () {
  "use strict";

  // --- Bulk selection
  var form = document.getElementById("bulk-form");
  var all = document.getElementById("pick-all");
  var counter = document.getElementById("picked-count");
  function boxes() { return document.querySelectorAll("input[name=cases][form=bulk-form]"); }
  function refresh() {
    var n = 0;
    boxes().forEach(function (b) { if (b.checked) n++; });
    counter.textContent = counter.dataset.template.replace("%(n)s", n);
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = n === 0; });
    if (all) all.checked = n > 0 && n === boxes().length;
  }
  if (form) {
    document.addEventListener("change", function (ev) {
      if (ev.target === all) boxes().forEach(function (b) { b.checked = all.checked; });
      if (ev.target === all || ev.target.name === "cases") refresh();
    });
    refresh();
  }

  // --- Map of open cases
  var el = document.getElementById("case-map");
  if (!el || typeof L === "undefined") return;
  var cfg = JSON.parse(document.getElementById("case-map-config").textContent);
  var t = JSON.parse(document.getElementById("case-map-text").textContent);
  var status = document.getElementById("case-map-status");
  // maxZoom on the map itself: clustering needs it even when no tile layer (offline) sets one.
  var map = L.map(el, { zoomSnap: 1, maxZoom: 18 }).setView(cfg.center, cfg.zoom);
  if (cfg.tiles.layers.length) {
    cfg.tiles.layers.forEach(function (url) {
      L.tileLayer(url, { subdomains: cfg.tiles.subdomains, attribution: cfg.tiles.attribution, maxZoom: 18 }).addTo(map);
    });
  } else {
    el.classList.add("no-tiles"); // offline: points on a plain background
  }
  var COLOURS = { ok: "#2f855a", yellow: "#d69e2e", red: "#c53030", paused: "#7b8794" };
  var RANK = { ok: 0, paused: 0, yellow: 1, red: 2 };
  // A cluster takes the colour of its worst case, so a red case is never hidden inside a green bubble.
  var clusters = L.markerClusterGroup({
    showCoverageOnHover: false,
    maxClusterRadius: 50,
    iconCreateFunction: function (cluster) {
      var worst = "ok";
      cluster.getAllChildMarkers().forEach(function (m) {
        if (RANK[m.options.colour] > RANK[worst]) worst = m.options.colour;
      });
      var n = cluster.getChildCount();
      var size = n < 10 ? 34 : n < 100 ? 40 : 48;
      return L.divIcon({
        html: "<span>" + n + "</span>", className: "case-cluster case-cluster-" + worst, iconSize: [size, size],
      });
    },
  });
  map.addLayer(clusters);

  function popup(p) {
    var div = document.createElement("div");
    var a = document.createElement("a");
    a.href = cfg.caseUrl.replace("/0/", "/" + p[0] + "/");
    a.textContent = p[5];
    var meta = document.createElement("div");
    meta.className = "muted";
    meta.textContent = p[4] + " · " + p[6];
    div.appendChild(a);
    div.appendChild(meta);
    return div;
  }

  fetch(cfg.pointsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      var markers = data.points.map(function (p) {
        var m = L.circleMarker([p[2], p[1]], {
          radius: 7, weight: 2, color: "#fff", fillColor: COLOURS[p[3]] || COLOURS.ok, fillOpacity: 0.95,
          colour: p[3],
        });
        m.bindPopup(function () { return popup(p); });
        return m;
      });
      clusters.addLayers(markers);
      el.dataset.points = String(markers.length);
      if (markers.length) {
        var bounds = L.latLngBounds(markers.map(function (m) { return m.getLatLng(); }));
        map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17 });
        status.textContent = data.truncated ? t.truncated.replace("%(n)s", data.cap)
          : t.count.replace("%(n)s", markers.length);
      } else {
        status.textContent = t.none;
      }
    })
    .catch(function () { status.textContent = t.failed; });
})();
