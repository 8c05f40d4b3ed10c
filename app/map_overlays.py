"""Tile imagery as small web-map overlays: reprojected to Web Mercator, WebP data URLs with WGS84 bounds.

Leaflet stretches an image overlay linearly between its corner coordinates in Web Mercator
pixels, so reprojecting each tile to EPSG:3857 first puts every pixel in the right place
(a tile in UTM would otherwise be shown slightly rotated and sheared).
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
import rasterio.warp
from PIL import Image
from pyproj import Transformer
from rasterio.enums import Resampling

from pgssl_core.catalog import Project, TileRecord

WEB_MERCATOR = "EPSG:3857"
MAX_OVERLAYS = 100  # beyond this the HTML grows by megabytes and the browser slows down
OVERLAY_PX = 128  # longest side of an overlay (px): enough to recognise a tile at city zoom


@dataclass(frozen=True)
class Overlay:
    """One tile image: ``url`` (WebP data URL, RGBA, transparent where no data), ``bounds`` [[S, W], [N, E]] deg;
    ``attribution``: the credit line of the tile service it came from (import-xyz), else empty."""

    tile_id: str
    name: str
    url: str
    bounds: list[list[float]]
    attribution: str = ""


def _webp_url(rgba: np.ndarray, quality: int = 80) -> str:
    # lossy WebP keeps the alpha channel at a fraction of PNG's size (aerial images compress badly as PNG)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="WEBP", quality=quality, method=4)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tile_overlay(project: Project, record: TileRecord, max_px: int = OVERLAY_PX) -> Overlay:
    """The tile's RGB warped to Web Mercator at most ``max_px`` px on its longest side."""
    tile = project.read(record.id)
    left, bottom, right, top = rasterio.warp.transform_bounds(tile.crs, WEB_MERCATOR, *tile.bounds)
    scale = max(right - left, top - bottom) / max_px  # m per output pixel
    width, height = max(1, round((right - left) / scale)), max(1, round((top - bottom) / scale))
    dst_transform = rasterio.transform.from_bounds(left, bottom, right, top, width, height)
    bands = np.concatenate([tile.image, (tile.valid * 255).astype(np.uint8)[..., None]], axis=2)
    out = np.zeros((4, height, width), np.uint8)  # alpha 0 outside the tile's footprint
    rasterio.warp.reproject(np.moveaxis(bands, 2, 0), out, src_transform=tile.transform, src_crs=tile.crs,
                            dst_transform=dst_transform, dst_crs=WEB_MERCATOR, resampling=Resampling.average)
    to_wgs84 = Transformer.from_crs(WEB_MERCATOR, "EPSG:4326", always_xy=True)
    (west, east), (south, north) = to_wgs84.transform([left, right], [bottom, top])
    return Overlay(record.id, record.original_name, _webp_url(np.moveaxis(out, 0, 2)), [[south, west], [north, east]],
                   str(record.source.get("attribution", "")) if isinstance(record.source, dict) else "")


def tile_overlays(project: Project, max_tiles: int = MAX_OVERLAYS, max_px: int = OVERLAY_PX,
                  offset: int = 0) -> tuple[list[Overlay], int]:
    """Overlays of georeferenced tiles ``offset`` .. ``offset + max_tiles``, and how many such tiles there are."""
    records = [r for r in project.tiles() if r.georeferenced]
    return [tile_overlay(project, r, max_px) for r in records[offset:offset + max_tiles]], len(records)
