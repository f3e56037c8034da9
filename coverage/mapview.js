// camwatch's map (map.html): Leaflet layers made from JSON data, never from markup. Inlined into the page by
// coverage/mapview.py.

// Detail layers' data, tile by tile ("<layer id>/<x>:<y>"), given by their files beside the page.
const camwatchDetails = new Map();
function camwatchDetail(id, collection) {
    camwatchDetails.set(id, collection);
}
function camwatchData(id) {
    if (camwatchDetails.has(id)) return camwatchDetails.get(id);
    return JSON.parse(document.getElementById(id).textContent);
}
// A layer whose data are files beside the page, one per tile of tileDegrees (tiles: the keys "x:y" that
// have one), drawn from zoom minZoom on by factory(tile id, ...args). The tiles that the view, grown by half
// a tile (a feature reaches at most that far out of its tile), touches are asked for with <script> tags
// (fetch() is refused on file:// pages) and drawn as they arrive; zoomed out again, the drawn tiles are taken
// off (and kept for the next time). The map fires "camwatchdetail" ({layers}) when tiles are drawn.
function camwatchDeferred(id, folder, tiles, tileDegrees, minZoom, factory, ...args) {
    const group = L.layerGroup();
    const present = new Set(tiles);
    const drawn = new Map();
    const asked = new Set();
    let map = null;
    function update() {
        if (!map) return;
        if (map.getZoom() < minZoom) {
            for (const layer of drawn.values()) group.removeLayer(layer);
            return;
        }
        const view = map.getBounds();
        const half = tileDegrees / 2;
        const [west, east] = [view.getWest() - half, view.getEast() + half].map(v => Math.floor(v / tileDegrees));
        const [south, north] = [view.getSouth() - half, view.getNorth() + half].map(v => Math.floor(v / tileDegrees));
        const added = [];
        for (let x = west; x <= east; x++) {
            for (let y = south; y <= north; y++) {
                const key = x + ":" + y;
                if (!present.has(key)) continue;
                const tile = id + "/" + key;
                if (camwatchDetails.has(tile)) {
                    if (!drawn.has(key)) drawn.set(key, window[factory](tile, ...args));
                    if (!group.hasLayer(drawn.get(key))) {
                        group.addLayer(drawn.get(key));
                        added.push(drawn.get(key));
                    }
                } else if (!asked.has(key)) {
                    asked.add(key);
                    const script = document.createElement("script");
                    script.src = folder + "/" + id + "_" + x + "_" + y + ".js";
                    script.onload = update;
                    document.head.appendChild(script);
                }
            }
        }
        if (added.length) map.fire("camwatchdetail", {layers: added});
    }
    group.on("add", function () { map = group._map; map.on("moveend", update); update(); });
    group.on("remove", function () { map.off("moveend", update); map = null; });
    return group;
}
// Tooltips are tables built from text nodes (textContent): a name holding an img tag with onerror is shown as typed,
// never parsed as HTML (folium's GeoJsonTooltip writes values into innerHTML). A layer with no fields has no
// tooltip.
function camwatchTable(rows) {
    const table = document.createElement("table");
    for (const [label, value] of rows) {
        const row = table.insertRow();
        const head = document.createElement("th");
        head.textContent = label;
        row.appendChild(head);
        row.insertCell().textContent = value === null || value === undefined ? "" : String(value);
    }
    return table;
}
function camwatchGeoJSON(collection, style, fields, options, pointToLayer) {
    const layer = L.geoJSON(collection, Object.assign({}, options, {
        style: function () { return style; },
        pointToLayer: pointToLayer || function (feature, latlng) {
            return L.circleMarker(latlng, Object.assign({}, options, {radius: style.radius || 5}));
        },
    }));
    if (!fields.length) return layer;
    return layer.bindTooltip(function (shown) {
        const properties = shown.feature.properties;
        return camwatchTable(fields.map(([key, label]) => [label, properties[key]]));
    }, {sticky: true, className: "camwatch-tooltip"});
}
function camwatchLayer(id, style, fields, options) {
    return camwatchGeoJSON(camwatchData(id), style, fields, options);
}
// An arrow from latlng along properties.direction (degrees from north, clockwise): a shaft of
// options.arrowMetres and two barbs of options.barbMetres, as two lines that carry the feature (for the
// tooltip). The arrow is short, so metres are turned into degrees at its latitude.
function camwatchArrow(feature, latlng, options) {
    function step(from, metres, degrees) {
        const angle = degrees * Math.PI / 180;
        const north = metres * Math.cos(angle) / 111320;
        const east = metres * Math.sin(angle) / (111320 * Math.cos(from.lat * Math.PI / 180));
        return L.latLng(from.lat + north, from.lng + east);
    }
    const heading = feature.properties.direction;
    const tip = step(latlng, options.arrowMetres, heading);
    const lines = [
        L.polyline([latlng, tip, step(tip, options.barbMetres, heading + 150)]),
        L.polyline([tip, step(tip, options.barbMetres, heading - 150)]),
    ];
    for (const line of lines) line.feature = feature;
    return lines;
}
// Points closer than options.cellPixels on screen are drawn as one numbered circle at their mean position
// (in options.pane, under the overlays); regrouped at every zoom. A cluster's tooltip gives its count; a
// point alone is a marker with its arrow (camwatchArrow) and its own tooltip. (Every child is a plain
// layer: Leaflet's tooltip of a GeoJSON layer fails on nested groups.)
function camwatchClusters(id, style, fields, options) {
    const points = camwatchData(id).features;
    let map = null;
    const layer = camwatchGeoJSON(null, style, fields, options, function (feature, latlng) {
        const count = feature.properties.camwatchCount;
        if (!count) return L.circleMarker(latlng, {radius: style.radius || 5});
        const label = document.createElement("div");
        label.textContent = String(count);
        const size = Math.round(22 + 6 * Math.log2(count));
        return L.marker(latlng, {pane: options.pane, icon: L.divIcon({
            html: label, className: "camwatch-cluster", iconSize: [size, size],
        })}).on("click", function () { map.setView(latlng, map.getZoom() + 2); });
    });
    layer.unbindTooltip().bindTooltip(function (shown) {
        const properties = shown.feature.properties;
        const count = properties.camwatchCount;
        if (count) return camwatchTable([[options.clusterLabel, count]]);
        return camwatchTable(fields.map(([key, label]) => [label, properties[key]]));
    }, {sticky: true, className: "camwatch-tooltip"});
    function regroup() {
        const zoom = map.getZoom();
        const cells = new Map();
        for (const feature of points) {
            const [lon, lat] = feature.geometry.coordinates;
            const at = map.project([lat, lon], zoom).divideBy(options.cellPixels).floor();
            const key = at.x + ":" + at.y;
            if (!cells.has(key)) cells.set(key, []);
            cells.get(key).push(feature);
        }
        layer.clearLayers();
        for (const members of cells.values()) {
            if (members.length === 1) {
                const [lon, lat] = members[0].geometry.coordinates;
                layer.addData(members[0]);
                for (const line of camwatchArrow(members[0], L.latLng(lat, lon), options)) {
                    layer.addLayer(line);
                    layer.resetStyle(line);
                }
                continue;
            }
            const mean = [0, 1].map(
                i => members.reduce((sum, f) => sum + f.geometry.coordinates[i], 0) / members.length
            );
            layer.addData({type: "Feature", properties: {camwatchCount: members.length},
                           geometry: {type: "Point", coordinates: mean}});
        }
    }
    layer.on("add", function () { map = layer._map; map.on("zoomend", regroup); regroup(); });
    layer.on("remove", function () { map.off("zoomend", regroup); });
    return layer;
}
// A tile server of the local network (coverage.basemap). Leaflet shows the attribution as HTML: it is given
// as text, escaped here.
function camwatchTiles(id) {
    const tiles = camwatchData(id);
    const text = document.createElement("span");
    text.textContent = tiles.attribution;
    return L.tileLayer(tiles.url, {maxZoom: tiles.maxZoom, attribution: text.innerHTML});
}
