"""The map page's own elements (folium/branca): Leaflet inlined, layers whose data stays outside every
template, and detail layers written beside the page.

A layer's data that is larger than :data:`DETAIL_BYTES` goes into script files beside the page, one per tile
(``<page>_files/<layer>_<x>_<y>.js``, see :mod:`camwatch.coverage.maptiles`), when the layer may wait for the
planner to zoom in: from :data:`DETAIL_ZOOM` on the page asks for the tiles around the view with ``<script>``
tags (``fetch()`` is refused on ``file://`` pages), so a county's page opens with its areas only and its tens
of megabytes of roads, fields of view, gaps and buildings are read a few tiles at a time where the planner
looks.
"""

from __future__ import annotations

import base64
import json
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import xstatic.pkg.leaflet as leaflet_pkg
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from camwatch.coverage.maptiles import TILE_DEGREES, Tiles

# A layer's JSON larger than this goes to a file beside the page, shown from DETAIL_ZOOM on. A page of a few
# such layers still opens in well under a second; a county's 40 MB did not (7.7 s in Chromium).
DETAIL_BYTES = 500_000
# Zoom level from which detail layers are drawn (15: about 5 m per pixel, a few kilometres across).
DETAIL_ZOOM = 15
# The files this module writes beside the page: stale ones of an earlier map are removed, nothing else.
DETAIL_PREFIX = "data_layer_"


@dataclass
class Details:
    """Detail layers' scripts for the folder beside the page: file name -> text."""

    folder: str
    files: dict[str, str] = field(default_factory=dict)

    def add(self, data_id: str, tiles: Tiles) -> list[str]:
        """Keep a file per tile of ``tiles`` for the layer ``data_id``: ``<data_id>_<x>_<y>.js``, giving the
        tile's features to ``camwatchDetail("<data_id>/<x>:<y>", ...)``. Returns the tiles' keys."""
        for key in tiles.features:
            x, y = key.split(":")
            text = script_safe(tiles.collection(key))
            tile = json.dumps(f"{data_id}/{key}")
            self.files[f"{data_id}_{x}_{y}.js"] = f"camwatchDetail({tile},{text});\n"
        return list(tiles.features)

    def write(self, beside: Path) -> None:
        """Write the files into the folder next to ``beside`` (the page), removing earlier maps' ones."""
        folder = beside.parent / self.folder
        if folder.is_dir():
            for stale in folder.glob(f"{DETAIL_PREFIX}*.js"):
                stale.unlink()
        if not self.files:
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            return
        folder.mkdir(exist_ok=True)
        for name, text in self.files.items():
            (folder / name).write_text(text, encoding="utf-8")


# The detail files of the page being rendered (none outside render_page: every layer stays in the page).
_RENDERING: ContextVar[Details | None] = ContextVar("camwatch_map_details", default=None)


def render_page(fmap: folium.Map, path: Path) -> None:
    """Write ``fmap`` to ``path`` and its detail layers to ``<stem>_files/`` beside it."""
    details = Details(f"{path.stem}_files")
    token = _RENDERING.set(details)  # read by every DataLayer while the page renders
    try:
        path.write_text(figure_of(fmap).render(), encoding="utf-8")
    finally:
        _RENDERING.reset(token)
    details.write(path)


def figure_of(element: Element) -> Figure:
    root = element.get_root()
    assert isinstance(root, Figure)  # a folium.Map is always created inside a Figure
    return root


def use_inline_leaflet(fmap: folium.Map, css: str) -> None:
    """Replace folium's CDN links (Leaflet, jQuery, Bootstrap...) with Leaflet itself, inlined, and add the
    page's own script and ``css``."""
    # Instance attributes: folium's add_js_link would otherwise edit the class-wide lists.
    fmap.default_js = []
    fmap.default_css = []
    script, style = _leaflet_assets()
    header = figure_of(fmap).header
    header.add_child(Verbatim(f"<style>{style}</style>"), name="leaflet_inline_css")
    header.add_child(Verbatim(f"<script>{script}</script>"), name="leaflet_inline_js")
    header.add_child(Verbatim(f"<style>{css}</style>"), name="camwatch_tooltip_css")
    header.add_child(Verbatim(f"<script>{page_script()}</script>"), name="camwatch_data_layer_js")


def script_safe(text: str) -> str:
    """JSON text that can sit inside ``<script type="application/json">`` or a script file: ``<``, ``>`` and
    ``&`` are escaped, so no value can close the element (``</script>``) or open a comment, and so are the
    line separators older JavaScript refuses in strings. (These characters occur only inside strings.)"""
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class DataLayer(Layer):
    """A layer whose data is a JSON block of the page (or a detail file beside it, see :class:`Details`),
    outside every template; its script (which branca compiles as a template again) calls the page's JS
    function ``factory`` with the block's id and ``args``, which hold only camwatch's own constants (styles,
    labels). ``detail``: the data may wait for :data:`DETAIL_ZOOM` when it is large."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.factory }}(
            {{ this.data_id|tojson }}{% for arg in this.args %}, {{ arg|tojson }}{% endfor %}
        );
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict[str, Any] | str | Tiles,
        *,
        factory: str,
        name: str,
        show: bool,
        args: tuple[Any, ...] = (),
        overlay: bool = True,
        detail: bool = False,
    ) -> None:
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self._name = "DataLayer"
        self.data = data
        self.factory = factory
        self.args = args
        self.detail = detail
        self.data_id = f"{self.get_name()}_data"

    def render(self, **kwargs: Any) -> Any:
        details = _RENDERING.get()
        if isinstance(self.data, Tiles):
            if self.detail and details is not None and self.data.size() > DETAIL_BYTES:
                tiles = details.add(self.data_id, self.data)
                folder = quote(details.folder)
                self.args = (folder, tiles, TILE_DEGREES, DETAIL_ZOOM, self.factory, *self.args)
                self.factory = "camwatchDeferred"
                return super().render(**kwargs)
            text = self.data.collection()
        else:
            text = self.data if isinstance(self.data, str) else json.dumps(self.data, ensure_ascii=False)
        block = f'<script type="application/json" id="{self.data_id}">{script_safe(text)}</script>'
        figure_of(self).html.add_child(Verbatim(block), name=self.data_id)
        return super().render(**kwargs)


@dataclass(frozen=True)
class Overlay:
    """A :class:`DataLayer`'s content and look, made apart from the page: plain data, so that a forked child
    can make it while the parent finds the gaps (see :func:`place`)."""

    data: Tiles
    factory: str
    name: str
    show: bool
    args: tuple[Any, ...]
    detail: bool

    def layer(self) -> DataLayer:
        return DataLayer(
            self.data,
            factory=self.factory,
            name=self.name,
            show=self.show,
            args=self.args,
            detail=self.detail,
        )


@dataclass(frozen=True)
class Group:
    """Overlays under one entry of the layer control (a folium ``FeatureGroup`` named ``name``), or each an
    entry of its own (``name`` None)."""

    name: str | None
    overlays: tuple[Overlay, ...]
    overlay: bool = True
    show: bool = True


@dataclass(frozen=True)
class Swatch:
    """A legend row: a colour, its meaning (camwatch's own words, never data), a line or a patch."""

    colour: str
    label: str
    line: bool = False


@dataclass(frozen=True)
class Drawn:
    """Layers ready for the page, their legend rows and the bounds of what they draw that the first view
    fits (``boxes``, west, south, east, north)."""

    groups: list[Group]
    legend: list[Swatch]
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)


def place(fmap: folium.Map, groups: list[Group]) -> None:
    """Add ``groups`` to ``fmap``, in order."""
    for group in groups:
        if group.name is None:
            for overlay in group.overlays:
                overlay.layer().add_to(fmap)
            continue
        feature_group = folium.FeatureGroup(name=group.name, overlay=group.overlay, show=group.show)
        for overlay in group.overlays:
            overlay.layer().add_to(feature_group)
        feature_group.add_to(fmap)


class Panes(MacroElement):
    """The map's own panes (name -> z-index), made before any layer is added to them."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% for name, z in this.panes.items() %}
        {{ this._parent.get_name() }}.createPane({{ name|tojson }}).style.zIndex = {{ z }};
        {% endfor %}
        {% endmacro %}
        """
    )

    def __init__(self, panes: dict[str, int]) -> None:
        super().__init__()
        self.panes = panes


class ZoomScaledLines(MacroElement):
    """Thin lines and small markers when zoomed out, full width from zoom ``full_zoom`` on: a county's roads
    drawn at street width would hide one another and the areas under them. Detail layers are scaled as they
    arrive (their ``camwatchdetail`` event)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            const map = {{ this._parent.get_name() }};
            function scale(layer, k) {
                if (!(layer instanceof L.GeoJSON) || typeof layer.options.style !== "function") return;
                layer.eachLayer(function (feature) {
                    if (!feature.setStyle) return;  // a cluster's numbered marker
                    const base = layer.options.style(feature.feature);
                    const scaled = {weight: (base.weight || 3) * k};
                    if (feature instanceof L.CircleMarker) {
                        scaled.radius = Math.max(2, (base.radius || 5) * k);
                    }
                    feature.setStyle(scaled);
                });
            }
            function rescale(event) {
                const k = Math.max(0.2, Math.min(1, Math.pow(2, (map.getZoom() - {{ this.full_zoom }}) / 2)));
                // Tiles arriving: only they need scaling (every drawn layer again would grow with each tile).
                const layers = event && event.layers;
                if (layers) layers.forEach(function (layer) { scale(layer, k); });
                else map.eachLayer(function (layer) { scale(layer, k); });
            }
            map.on("zoomend overlayadd camwatchdetail", rescale);
            map.whenReady(rescale);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, full_zoom: int) -> None:
        super().__init__()
        self.full_zoom = full_zoom


class Verbatim(Element):
    """HTML put into the page as it is; an ``Element`` would compile it as a Jinja template (slow for
    Leaflet's source, and wrong should it ever contain ``{{``)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


@cache
def page_script() -> str:
    """The page's own functions (``mapview.js`` beside this module)."""
    return (resources.files("camwatch.coverage") / "mapview.js").read_text(encoding="utf-8")


@cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS from the xstatic-leaflet package, the CSS images as data URIs."""
    base = Path(leaflet_pkg.BASE_DIR)
    script = (base / "leaflet.js").read_text(encoding="utf-8")
    script = re.sub(r"//# sourceMappingURL=\S+\s*$", "", script)

    def inline_image(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    style = re.sub(r"url\((images/[\w.-]+\.png)\)", inline_image, (base / "leaflet.css").read_text("utf-8"))
    return script, style
