/* Patrol page: records GPS fixes while the patrol is open and delivers them even with a patchy
 * connection.
 *
 * Every fix is first written to localStorage with a per-patrol increasing `seq`, and removed only
 * after the server has acknowledged the batch that carried it. The server ignores a (patrol, seq)
 * it already has, so re-sending after a lost answer is harmless. Offline (fetch fails,
 * navigator.onLine false) the queue just grows; it is retried on the 'online' event and on a timer.
 */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("patrol-data").textContent);
  var T = data.text;
  var KEY = "gridgov.patrol." + data.patrol + ".queue";
  var SEQ_KEY = "gridgov.patrol." + data.patrol + ".seq";
  var BATCH = 200;
  var RETRY_MS = 5000;

  // --- map -------------------------------------------------------------------------------------
  // The view must be set before layers are added (Leaflet's renderer needs map bounds to clip).
  var map = L.map("patrol-map", { attributionControl: false, zoomSnap: 0.25 });
  var trackLatLngs = data.track.map(function (c) { return [c[1], c[0]]; });
  var gridLayer = data.boundary
    ? L.geoJSON(data.boundary, { style: { color: "#1c64b4", weight: 2, fillOpacity: 0.1 } })
    : null;
  var bounds = gridLayer ? gridLayer.getBounds() : L.latLngBounds([]);
  trackLatLngs.forEach(function (ll) { bounds.extend(ll); });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 18 });
  else map.setView([34.27, 108.93], 15);
  if (gridLayer) gridLayer.addTo(map);
  var track = L.polyline(trackLatLngs, { color: "#b42318", weight: 4, className: "patrol-track" }).addTo(map);

  if (!data.recording) {
    // A finished patrol keeps nothing on the phone.
    localStorage.removeItem(KEY);
    localStorage.removeItem(SEQ_KEY);
    return;
  }

  // --- the queue -------------------------------------------------------------------------------
  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (e) { return []; }
  }
  function save(queue) { localStorage.setItem(KEY, JSON.stringify(queue)); }
  function nextSeq() {
    // The server's highest seq guards against a cleared localStorage re-using old numbers.
    var seq = Math.max(parseInt(localStorage.getItem(SEQ_KEY) || "0", 10) || 0, data.maxSeq) + 1;
    localStorage.setItem(SEQ_KEY, String(seq));
    return seq;
  }
  function removeSent(seqs) {
    var sent = {};
    seqs.forEach(function (s) { sent[s] = true; });
    save(load().filter(function (p) { return !sent[p.seq]; }));
  }

  // Fixes recorded before a reload but not yet sent belong on the drawn track too.
  load().forEach(function (p) {
    if (p.accuracy == null || p.accuracy <= 100) track.addLatLng([p.lat, p.lon]);
  });

  // --- status line ---------------------------------------------------------------------------
  var reachable = navigator.onLine;
  var statusBox = document.getElementById("sync-status");
  function render() {
    var online = navigator.onLine && reachable;
    statusBox.classList.toggle("offline", !online);
    document.getElementById("sync-online").textContent = online ? T.online : T.offline;
    document.getElementById("sync-pending").textContent = String(load().length);
  }

  function csrfToken() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var input = document.querySelector("#end-form input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(batch) {
    return fetch(data.pointsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(batch),
    });
  }

  // Sends one batch; resolves to true when it is settled (stored, or rejected for good).
  function sendBatch(batch) {
    return post(batch).then(function (response) {
      if (response.ok) {
        return response.json().then(function (body) {
          removeSent(batch.map(function (p) { return p.seq; }));
          document.getElementById("sync-sent").textContent = String(body.count);
          document.getElementById("patrol-points").textContent = String(body.count);
          return true;
        });
      }
      if (response.status === 409) { // the patrol was ended elsewhere: nothing more will be taken
        save([]);
        return true;
      }
      if (response.status === 400) {
        // A malformed fix must not block the queue forever: retry one by one, drop what is refused.
        return response.json().catch(function () { return {}; }).then(function (body) {
          console.warn("patrol points refused:", body.error && body.error.message);
          if (batch.length === 1) { removeSent([batch[0].seq]); return true; }
          return batch.reduce(function (chain, p) {
            return chain.then(function () { return sendBatch([p]); });
          }, Promise.resolve(true));
        });
      }
      throw new Error("HTTP " + response.status);
    });
  }

  var inFlight = null;
  // Resolves to true once the queue is empty, false if it could not be emptied now.
  function flush() {
    if (inFlight) return inFlight;
    if (!load().length) { render(); return Promise.resolve(true); }
    if (!navigator.onLine) { reachable = false; render(); return Promise.resolve(false); }
    inFlight = sendBatch(load().slice(0, BATCH))
      .then(function () {
        reachable = true;
        inFlight = null;
        render();
        return load().length ? flush() : true;
      })
      .catch(function () {
        reachable = false;
        inFlight = null;
        render();
        return false;
      });
    return inFlight;
  }

  // --- GPS -----------------------------------------------------------------------------------
  var gpsStatus = document.getElementById("gps-status");
  var here = null;
  function onFix(pos) {
    var c = pos.coords;
    var point = {
      seq: nextSeq(),
      lon: c.longitude,
      lat: c.latitude,
      accuracy: c.accuracy,
      recorded_at: new Date(pos.timestamp || Date.now()).toISOString(),
    };
    var queue = load();
    queue.push(point);
    save(queue);
    var latlng = [c.latitude, c.longitude];
    if (c.accuracy == null || c.accuracy <= 100) track.addLatLng(latlng);
    if (here) here.setLatLng(latlng);
    else here = L.circleMarker(latlng, { radius: 6, color: "#fff", weight: 2, fillColor: "#1c64b4", fillOpacity: 1 }).addTo(map);
    if (!gridLayer && track.getLatLngs().length === 1) map.setView(latlng, 17);
    gpsStatus.textContent = T.gpsOk.replace("%s", Math.round(c.accuracy));
    render();
    flush();
  }
  function onGpsError(err) {
    gpsStatus.textContent = T.gpsError.replace("%s", err.message || err.code);
  }
  if ("geolocation" in navigator) {
    navigator.geolocation.watchPosition(onFix, onGpsError, { enableHighAccuracy: true, maximumAge: 0, timeout: 60000 });
  } else {
    gpsStatus.textContent = T.noGps;
  }

  window.addEventListener("online", function () { reachable = true; flush(); });
  window.addEventListener("offline", render);
  setInterval(flush, RETRY_MS);
  render();
  flush();

  // --- ending ----------------------------------------------------------------------------------
  // Send what is queued first, so the server computes distance and coverage from the whole track.
  var form = document.getElementById("end-form");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = document.getElementById("end-patrol");
    button.disabled = true;
    gpsStatus.textContent = T.flushing;
    flush().then(function (empty) {
      if (empty || window.confirm(T.notSent)) {
        localStorage.removeItem(KEY);
        localStorage.removeItem(SEQ_KEY);
        form.submit();
      } else {
        button.disabled = false;
      }
    });
  });
})();
