/* The intake forms (templates/dispatch/report_form.html, hotline_form.html, public/report.html):
 * photo previews, the place from GPS or a tap on a small map (and which grid it falls in), the
 * category picker's search, and showing only the parts of the form that apply.
 *
 * Without this script every form still works: the fields are plain HTML (coordinates can be typed,
 * the category is a <select> grouped by major class) and the server checks everything again. */
(function () {
  "use strict";
  var dataNode = document.getElementById("intake-data");
  var form = document.querySelector("form.intake");
  if (!dataNode || !form) return;
  var data = JSON.parse(dataNode.textContent);
  var T = data.text || {};
  var kind = form.getAttribute("data-kind"); // worker | citizen | hotline
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var $ = function (id) { return document.getElementById(id); };

  function fill(text, values) {
    return String(text).replace(/%\((\w+)\)s|%s/g, function (all, name) {
      return name ? values[name] : values;
    });
  }
  function say(el, text, tone) {
    if (!el) return;
    el.textContent = text || "";
    el.className = "status" + (tone ? " " + tone : "");
  }

  // --- photos: previews, and photos taken one by one add up instead of replacing each other --------
  function setupPhotos(input) {
    var box = document.querySelector('[data-previews-for="' + input.id + '"]');
    var kept = [];
    var canEdit = typeof DataTransfer !== "undefined";
    function sync() {
      if (!canEdit) return;
      var dt = new DataTransfer();
      kept.forEach(function (f) { dt.items.add(f); });
      input.files = dt.files;
    }
    function render() {
      if (!box) return;
      box.innerHTML = "";
      (canEdit ? kept : Array.prototype.slice.call(input.files || [])).forEach(function (file, i) {
        var fig = document.createElement("figure");
        var img = document.createElement("img");
        img.alt = file.name;
        if (/^image\//.test(file.type)) {
          img.src = URL.createObjectURL(file);
          img.onload = function () { URL.revokeObjectURL(img.src); };
        }
        fig.appendChild(img);
        if (canEdit) {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.textContent = "×";
          remove.setAttribute("aria-label", T.removePhoto + " " + file.name);
          remove.addEventListener("click", function () { kept.splice(i, 1); sync(); render(); });
          fig.appendChild(remove);
        }
        box.appendChild(fig);
      });
    }
    input.addEventListener("change", function () {
      if (canEdit) {
        each(input.files, function (f) { kept.push(f); });
        sync();
      }
      render();
    });
  }
  each(form.querySelectorAll("input[type=file]"), setupPhotos);

  // --- the place ----------------------------------------------------------------------------------
  var lonInput = $("id_lon");
  var latInput = $("id_lat");
  var gpsStatus = $("gps-status");
  var gridStatus = $("grid-status");
  var cfg = data.map || { tiles: [], grids: [] };
  var mapEl = $("pick-map");
  var map = null;
  var marker = null;
  var halo = null;

  if (mapEl && typeof L !== "undefined" && (cfg.tiles.length || cfg.grids.length)) {
    // A blank background with the worker's grid boundaries is enough to place a point in a grid;
    // tiles are drawn when configured (so the page works offline either way).
    mapEl.hidden = false;
    map = L.map(mapEl, { attributionControl: !!cfg.attribution, zoomSnap: 0.25 });
    cfg.tiles.forEach(function (url) {
      L.tileLayer(url, { subdomains: cfg.subdomains, attribution: cfg.attribution, maxZoom: 19 }).addTo(map);
    });
    var bounds = L.latLngBounds([]);
    cfg.grids.forEach(function (g) {
      var layer = L.geoJSON(g.boundary, { interactive: false, style: { color: "#1c64b4", weight: 2, fillOpacity: 0.08 } });
      layer.addTo(map);
      bounds.extend(layer.getBounds());
    });
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
    else map.setView(cfg.center, 15);
    map.on("click", function (e) {
      setPoint(e.latlng.lng, e.latlng.lat, null);
      say(gpsStatus, T.picked, "ok");
    });
  }

  var lookup = 0;
  function locate(lon, lat) {
    if (!data.locateUrl || !gridStatus) return;
    var mine = ++lookup;
    fetch(data.locateUrl + "?lon=" + lon + "&lat=" + lat, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (mine !== lookup) return;
        if (body.error) say(gridStatus, body.error, "bad");
        else if (body.grid) say(gridStatus, fill(T.inGrid, { grid: body.grid, community: body.community }), "ok");
        else say(gridStatus, T.outside, "warn");
      })
      .catch(function () { if (mine === lookup) say(gridStatus, ""); }); // offline: the server decides on sending
  }

  function draw(lon, lat, accuracy) {
    if (!map) return;
    var ll = [lat, lon];
    if (!marker) marker = L.circleMarker(ll, { radius: 9, color: "#fff", weight: 3, fillColor: "#b42318", fillOpacity: 1 }).addTo(map);
    else marker.setLatLng(ll);
    if (halo) { map.removeLayer(halo); halo = null; }
    if (accuracy) halo = L.circle(ll, { radius: accuracy, color: "#b42318", weight: 1, fillOpacity: 0.08, interactive: false }).addTo(map);
    if (!map.getBounds().contains(ll)) map.setView(ll, Math.max(map.getZoom(), 16));
  }

  function setPoint(lon, lat, accuracy) {
    lonInput.value = lon.toFixed(7);
    latInput.value = lat.toFixed(7);
    draw(lon, lat, accuracy);
    locate(lonInput.value, latInput.value);
  }

  function typedPoint() {
    var lon = parseFloat(lonInput.value);
    var lat = parseFloat(latInput.value);
    if (isFinite(lon) && isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) {
      draw(lon, lat, null);
      locate(lonInput.value, latInput.value);
    }
  }

  if (lonInput && latInput) {
    lonInput.addEventListener("change", typedPoint);
    latInput.addEventListener("change", typedPoint);
    if (lonInput.value && latInput.value) typedPoint(); // the form came back with an error
  }

  var gpsButton = $("use-gps");
  function useGps() {
    if (!navigator.geolocation) { say(gpsStatus, T.noGps, "warn"); return; }
    say(gpsStatus, T.locating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      var accuracy = Math.round(pos.coords.accuracy);
      setPoint(pos.coords.longitude, pos.coords.latitude, accuracy);
      say(gpsStatus, fill(accuracy > 50 ? T.gpsPoor : T.gpsOk, accuracy), accuracy > 50 ? "warn" : "ok");
    }, function (err) {
      say(gpsStatus, fill(T.gpsError, err.message || err.code), "bad");
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 });
  }
  if (gpsButton && lonInput && kind !== "hotline") {
    // The operator is not where the caller is: the hotline places a call by community or map only.
    gpsButton.hidden = false;
    gpsButton.addEventListener("click", useGps);
    if (!navigator.geolocation) say(gpsStatus, T.noGps, "warn");
    else if (kind === "worker" && !lonInput.value) useGps(); // on the street: where the worker stands
  }

  // --- category: search, what the chosen class allows -----------------------------------------------
  var select = $("id_category");
  var search = $("category-search");
  var results = $("category-results");
  var info = $("category-info");

  function choose(id) {
    select.value = String(id);
    select.dispatchEvent(new Event("change", { bubbles: true }));
    results.innerHTML = "";
    search.value = "";
  }

  if (select && search && results && data.searchUrl) {
    search.hidden = false;
    var timer = null;
    var asked = 0;
    var run = function () {
      var q = search.value.trim();
      if (!q) { results.innerHTML = ""; return; }
      var mine = ++asked;
      fetch(data.searchUrl + "?q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (mine !== asked) return;
          results.innerHTML = "";
          if (!body.results.length) {
            var none = document.createElement("li");
            none.className = "muted";
            none.textContent = T.noMatch;
            results.appendChild(none);
          }
          body.results.forEach(function (m) {
            var li = document.createElement("li");
            var b = document.createElement("button");
            b.type = "button";
            b.textContent = m.code + " " + m.name;
            var more = document.createElement("span");
            more.className = "muted";
            more.textContent = [m.major, T.limit + " " + m.limit]
              .concat(m.self_handling ? [T.selfOk] : [], m.urgency === "urgent" ? [m.urgency_label] : []).join(" · ");
            b.appendChild(more);
            b.addEventListener("click", function () { choose(m.id); });
            li.appendChild(b);
            results.appendChild(li);
          });
        })
        .catch(function () { results.innerHTML = ""; }); // offline: the <select> below still works
    };
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 200); });
    search.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      e.preventDefault(); // Enter picks the first match rather than sending the half-filled form
      var first = results.querySelector("button");
      if (first) first.click();
    });
  }

  var selfBox = $("self-handling");
  var selfCheck = $("id_self_handled");
  var selfFields = $("self-handling-fields");

  function chosen() {
    return select && select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
  }

  function updateCategory() {
    var opt = chosen();
    var has = opt && opt.value;
    if (info && T.limit) {
      info.innerHTML = "";
      if (has && opt.getAttribute("data-limit")) {
        var parts = [T.limit + " " + opt.getAttribute("data-limit")];
        info.appendChild(document.createTextNode(parts.join(" ")));
        if (opt.getAttribute("data-urgent") === "1" && T.urgent) info.appendChild(badge(T.urgent, "urgent"));
        if (opt.getAttribute("data-self") === "1" && T.selfOk && selfBox) info.appendChild(badge(T.selfOk, "self"));
      }
    }
    if (selfBox && selfCheck) {
      var allowed = has && opt.getAttribute("data-self") === "1";
      selfBox.hidden = !allowed;
      if (!allowed) selfCheck.checked = false;
      updateSelf();
    }
  }
  function badge(text, cls) {
    var b = document.createElement("span");
    b.className = "badge " + cls;
    b.textContent = text;
    var wrap = document.createDocumentFragment();
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(b);
    return wrap;
  }
  function updateSelf() {
    if (selfFields && selfCheck) selfFields.hidden = !selfCheck.checked;
  }
  if (select) select.addEventListener("change", updateCategory);
  if (selfCheck) selfCheck.addEventListener("change", updateSelf);
  updateCategory();

  // --- hotline: only the part of the outcome chosen ---------------------------------------------------
  var outcomes = form.querySelectorAll("fieldset.outcome");
  function updateOutcome() {
    var checked = form.querySelector("input[name=outcome]:checked");
    each(outcomes, function (fs) { fs.hidden = !checked || fs.getAttribute("data-outcome") !== checked.value; });
    if (map && checked && checked.value === "case") map.invalidateSize();
  }
  if (outcomes.length) {
    each(form.querySelectorAll("input[name=outcome]"), function (r) { r.addEventListener("change", updateOutcome); });
    updateOutcome();
  }

  // --- sending: one press is enough (a second one would file the same case anyway) ------------------
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    setTimeout(function () { button.disabled = true; button.textContent = T.sending; }, 0);
  });
})();
