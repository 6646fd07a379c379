/* The grid map (templates/grids/map.html): grids by type, coloured by a measure; search; cards;
 * administrators edit boundaries with Leaflet.draw. Geometry arrives in the tile layer's system
 * (?crs=gcj02 when the tiles are GCJ-02) and is sent back in it, so the server does all conversion. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("grid-map-config").textContent);
  var t = JSON.parse(document.getElementById("grid-map-labels").textContent);
  var crs = cfg.tiles.crs || "wgs84";
  var el = document.getElementById("grid-map");
  var map = L.map(el, { zoomSnap: 1 }).setView(cfg.center, cfg.zoom);
  if (cfg.tiles.layers.length) {
    cfg.tiles.layers.forEach(function (url) {
      L.tileLayer(url, { subdomains: cfg.tiles.subdomains, attribution: cfg.tiles.attribution, maxZoom: 18 }).addTo(map);
    });
  } else {
    el.classList.add("no-tiles"); // offline: grids on a plain background
  }

  var measureSelect = document.getElementById("grid-measure");
  var legend = document.getElementById("grid-legend");
  var card = document.getElementById("grid-card");
  var layersById = {};
  var selectedId = null;
  var editing = null; // {id, layer, drawn}
  var fitted = false;
  var RAMP = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"];
  var DASH = { basic: null, dedicated: "6 4", specialised: "2 4" };
  var breaks = [];

  function measure() {
    var key = measureSelect.value;
    return cfg.measures.filter(function (m) { return m.key === key; })[0] || cfg.measures[0];
  }

  function computeBreaks() {
    var m = measure(), max = 0;
    if (m.kind !== "count") { breaks = []; return; }
    Object.keys(layersById).forEach(function (id) {
      var v = layersById[id].feature.properties.measures[m.key];
      if (typeof v === "number" && v > max) max = v;
    });
    breaks = [1, 2, 3, 4].map(function (i) { return Math.round((max * i) / 5); });
  }

  function colour(props) {
    var m = measure(), v = props.measures[m.key];
    if (m.kind === "flag") return v ? "#c53030" : "#2f855a";
    var i = 0;
    while (i < breaks.length && v > breaks[i]) i++;
    return RAMP[i];
  }

  function style(feature) {
    var p = feature.properties, selected = p.id === selectedId;
    return {
      color: selected ? "#1c64b4" : "#334e68", weight: selected ? 4 : p.type === "specialised" ? 3 : 1.5,
      dashArray: DASH[p.type] || null, fillColor: colour(p), fillOpacity: 0.55,
    };
  }

  function drawLegend() {
    var m = measure();
    legend.textContent = "";
    var items = m.kind === "flag" ? [["#c53030", t.missing], ["#2f855a", t.staffed]]
      : RAMP.map(function (c, i) {
        var lo = i === 0 ? 0 : breaks[i - 1] + 1, hi = breaks[i];
        return [c, i === RAMP.length - 1 ? "> " + (breaks[i - 1] || 0) : lo + "–" + hi];
      });
    items.forEach(function (item) {
      var span = document.createElement("span"), sw = document.createElement("i");
      sw.style.background = item[0];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(item[1]));
      legend.appendChild(span);
    });
  }

  function restyle() {
    computeBreaks();
    gridLayer.setStyle(style);
    drawLegend();
  }

  var unitLayer = L.geoJSON(null, {
    style: { color: "#7b8794", weight: 2, dashArray: "8 6", fill: false }, interactive: false,
  }).addTo(map);

  var gridLayer = L.geoJSON(null, {
    style: style,
    onEachFeature: function (feature, layer) {
      layersById[feature.properties.id] = layer;
      layer.bindTooltip(feature.properties.name + " · " + feature.properties.code, { sticky: true });
      layer.on("click", function () { openCard(feature.properties.id); });
    },
  }).addTo(map);

  function query(params) {
    return Object.keys(params).map(function (k) { return k + "=" + encodeURIComponent(params[k]); }).join("&");
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error(r.status);
      return r.json();
    });
  }

  var loadTimer = null;
  function loadGrids() {
    if (editing) return; // do not replace the layer being edited
    var b = map.getBounds().pad(0.25);
    var url = cfg.urls.grids + "?" + query({ bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].join(","),
      zoom: map.getZoom(), crs: crs });
    return getJSON(url).then(function (data) {
      if (editing) return;
      layersById = {};
      gridLayer.clearLayers();
      gridLayer.addData(data);
      restyle();
      el.dataset.gridCount = data.features.length;
    });
  }

  function scheduleLoad() {
    clearTimeout(loadTimer);
    loadTimer = setTimeout(loadGrids, 150);
  }

  getJSON(cfg.urls.units + "?" + query({ crs: crs, zoom: 14 })).then(function (data) {
    unitLayer.addData(data);
    if (!cfg.focus && data.features.length && !fitted) {
      fitted = true;
      map.fitBounds(unitLayer.getBounds(), { maxZoom: 16 });
    }
  }).catch(function () { /* boundaries are optional */ }).then(function () {
    if (cfg.focus) return focusGrid(cfg.focus);
    return loadGrids();
  }).then(function () { map.on("moveend", scheduleLoad); });

  measureSelect.addEventListener("change", restyle);

  function detailUrl(id, base) { return base.replace("/0/", "/" + id + "/"); }

  function focusGrid(id) {
    return getJSON(detailUrl(id, cfg.urls.detail)).then(function (grid) {
      if (grid.bbox) {
        map.fitBounds([[grid.bbox[1], grid.bbox[0]], [grid.bbox[3], grid.bbox[2]]], { maxZoom: 17 });
      }
      return loadGrids().then(function () { renderCard(grid); });
    });
  }

  /* --- search -------------------------------------------------------------------------------- */
  var results = document.getElementById("grid-search-results");
  document.getElementById("grid-search").addEventListener("submit", function (e) {
    e.preventDefault();
    var q = document.getElementById("grid-search-q").value.trim();
    if (!q) return;
    getJSON(cfg.urls.search + "?" + query({ q: q })).then(function (list) {
      results.textContent = "";
      results.hidden = false;
      if (!list.length) {
        var li = document.createElement("li");
        li.textContent = t.noResults;
        results.appendChild(li);
        return;
      }
      if (list.length === 1) { results.hidden = true; focusGrid(list[0].id); return; }
      list.forEach(function (g) {
        var li = document.createElement("li"), btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = g.name + " · " + g.code + " · " + g.community;
        btn.addEventListener("click", function () { results.hidden = true; focusGrid(g.id); });
        li.appendChild(btn);
        results.appendChild(li);
      });
    });
  });

  /* --- the card ------------------------------------------------------------------------------ */
  function el_(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }

  function openCard(id) {
    if (editing) return;
    getJSON(detailUrl(id, cfg.urls.detail)).then(renderCard);
  }

  function renderCard(grid) {
    selectedId = grid.id;
    gridLayer.setStyle(style);
    card.textContent = "";
    card.hidden = false;
    card.dataset.gridId = grid.id;
    var h = el_("h2", grid.name + " ");
    h.appendChild(el_("span", grid.grid_type_label, "muted"));
    card.appendChild(h);
    var facts = el_("dl", undefined, "facts");
    [[t.code, grid.code], [t.community, grid.community], [t.households, grid.households],
      [t.residents, grid.residents], [t.buildings, grid.buildings], [t.businesses, grid.businesses],
      [t.keyPlaces, grid.key_places]].forEach(function (pair) {
      facts.appendChild(el_("dt", pair[0]));
      facts.appendChild(el_("dd", String(pair[1])));
    });
    card.appendChild(facts);
    card.appendChild(el_("h3", t.team));
    if (grid.team.length) {
      var ul = el_("ul", undefined, "plain");
      grid.team.forEach(function (m) { ul.appendChild(el_("li", m.name + " · " + m.role_label + (m.phone ? " · " + m.phone : ""))); });
      card.appendChild(ul);
    } else {
      card.appendChild(el_("p", t.noTeam, "warning"));
    }
    if (!grid.boundary) card.appendChild(el_("p", t.noBoundary, "muted"));
    var actions = el_("div", undefined, "actions");
    var link = el_("a", t.open, "button");
    link.href = detailUrl(grid.id, cfg.urls.page);
    actions.appendChild(link);
    if (cfg.canEdit) addEditButtons(actions, grid);
    card.appendChild(actions);
    card.appendChild(el_("div", undefined, "note"));
  }

  /* --- boundary editing (administrators) ---------------------------------------------------- */
  function note(lines, cls) {
    var box = card.querySelector(".note");
    box.textContent = "";
    lines.forEach(function (line) { box.appendChild(el_("p", line, cls)); });
  }

  function addEditButtons(actions, grid) {
    var edit = el_("button", t.edit), draw = el_("button", t.draw), save = el_("button", t.save, "primary"),
      cancel = el_("button", t.cancel);
    [edit, draw, save, cancel].forEach(function (b) { b.type = "button"; });
    save.hidden = cancel.hidden = true;
    function start(mode) {
      var layer = layersById[grid.id];
      editing = { id: grid.id, layer: layer, drawn: null };
      if (mode === "edit" && layer) {
        layer.editing.enable();
      } else {
        var drawer = new L.Draw.Polygon(map, { showArea: false });
        map.once(L.Draw.Event.CREATED, function (e) { editing.drawn = e.layer; e.layer.addTo(map); });
        drawer.enable();
        note([t.drawFirst], "muted");
      }
      edit.hidden = draw.hidden = true;
      save.hidden = cancel.hidden = false;
    }
    function stop() {
      if (editing && editing.layer && editing.layer.editing) editing.layer.editing.disable();
      if (editing && editing.drawn) map.removeLayer(editing.drawn);
      editing = null;
      edit.hidden = !layersById[grid.id];
      draw.hidden = false;
      save.hidden = cancel.hidden = true;
    }
    edit.hidden = !layersById[grid.id];
    edit.addEventListener("click", function () { start("edit"); });
    draw.addEventListener("click", function () { start("draw"); });
    cancel.addEventListener("click", function () { stop(); loadGrids(); });
    save.addEventListener("click", function () {
      var source = editing.drawn || editing.layer;
      if (!source) { note([t.drawFirst], "warning"); return; }
      var token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
      fetch(detailUrl(grid.id, cfg.urls.boundary), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ geometry: source.toGeoJSON().geometry, crs: crs }),
      }).then(function (r) { return r.json(); }).then(function (res) {
        if (!res.ok) { note([t.failed].concat(res.errors), "error"); return; }
        stop();
        loadGrids();
        note([t.saved].concat(res.warnings), res.warnings.length ? "warning" : "muted");
      });
    });
    [edit, draw, save, cancel].forEach(function (b) { actions.appendChild(b); });
  }
})();
