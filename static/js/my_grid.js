/* "My grid": a small map of each grid's boundary (no tiles needed: drawn on a blank background). */
(function () {
  "use strict";
  var node = document.getElementById("grid-map-data");
  if (!node || typeof L === "undefined") return;
  var grids = JSON.parse(node.textContent);
  grids.forEach(function (grid) {
    var el = document.querySelector('.grid-map[data-grid="' + grid.id + '"]');
    if (!el || !grid.boundary) return;
    var map = L.map(el, { attributionControl: false, scrollWheelZoom: false, dragging: !L.Browser.mobile, zoomSnap: 0.25 });
    var layer = L.geoJSON(grid.boundary, { style: { color: "#1c64b4", weight: 2, fillOpacity: 0.12 } }).addTo(map);
    map.fitBounds(layer.getBounds(), { padding: [12, 12] });
  });
})();
