"""Predicting a sparse GeoTIFF region by region: work in proportion to the stored data.

A sparse raster (see :mod:`pgssl_core.tiles.blocks`) is cut into *data regions*: the bounding boxes
of groups of stored blocks that touch (8-connected). Each region is handed to the predictor as a
``RasterRegion`` (a ``RasterSource`` restricted to a window, sharing the whole raster's colour
stretch), and the region outputs are put together into one sparse GeoTIFF on the source's grid, in
which blocks outside every region are never written (they read back as the output's nodata).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window
from scipy import ndimage

from pgssl_core.io import atomic_write_with
from pgssl_core.tiles.blocks import BlockPresence
from pgssl_core.tiles.georef import ungeoreferenced_ok
from pgssl_core.tiles.raster import RasterSource

Region = tuple[int, int, int, int]  # (col_off, row_off, width, height) in px
#: Below this share of the raster in stored blocks, predicting region by region pays off.
SPARSE_SHARE: float = 0.5


def data_regions(blocks: BlockPresence) -> list[Region]:
    """Bounding windows (px) of the groups of stored blocks that touch (8-connected), row-major."""
    labels, count = ndimage.label(blocks.present, structure=np.ones((3, 3), dtype=int))
    regions = []
    for rows, cols in ndimage.find_objects(labels)[:count]:
        row, col = rows.start * blocks.block_h, cols.start * blocks.block_w
        height = min(rows.stop * blocks.block_h, blocks.height) - row
        width = min(cols.stop * blocks.block_w, blocks.width) - col
        regions.append((col, row, width, height))
    return sorted(regions, key=lambda r: (r[1], r[0]))


class RasterRegion(RasterSource):
    """A window of an open ``RasterSource`` with the same read API (the parent owns the file).

    ``width``/``height``/``transform`` are the window's; colours use the parent's stretch, so every
    region of a raster gets the same colour scale.
    """

    def __init__(self, parent: RasterSource, region: Region) -> None:  # noqa: D107 - no file is opened
        self.parent = parent
        self.col_off, self.row_off, self.width, self.height = region
        self.path = parent.path
        self.crs = parent.crs
        self.transform = parent.window_transform(self.col_off, self.row_off)
        self.not_georeferenced_reason = parent.not_georeferenced_reason
        self.band_map = parent.band_map
        self.meta = parent.meta

    def read_window(self, col_off: int, row_off: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """Read a window given in region pixels from the parent raster.

        Returns:
            ``(rgb, valid)``: uint8 (height, width, 3) and bool (height, width).

        Raises:
            ValueError: the window reaches outside the region.
        """
        if col_off < 0 or row_off < 0 or col_off + width > self.width or row_off + height > self.height:
            raise ValueError(f"window cols {col_off}+{width}, rows {row_off}+{height} is outside the "
                             f"{self.width} x {self.height} region")
        return self.parent.read_window(self.col_off + col_off, self.row_off + row_off, width, height)

    def window_has_data(self, col_off: int, row_off: int, width: int, height: int) -> bool:
        """False when the parent raster stores no block under this window (region px): skip it unread."""
        return self.parent.window_has_data(self.col_off + col_off, self.row_off + row_off, width, height)

    @property
    def data_share(self) -> float:
        """The parent raster's share (0..1) inside stored blocks (1.0 unless sparse), used for the region too."""
        return self.parent.data_share

    def close(self) -> None:
        """Nothing to close: the parent owns the file."""


def _mosaic(parts: list[tuple[Region, Path]], source: RasterSource, dst: Path) -> None:
    """Write the region outputs into one sparse, tiled GeoTIFF on ``source``'s grid at ``dst``."""
    with rasterio.open(parts[0][1]) as first:
        profile: dict[str, Any] = {**first.profile}
        tags = first.tags()
    profile.update(driver="GTiff", width=source.width, height=source.height, tiled=True, blockxsize=512,
                   blockysize=512, sparse_ok=True, BIGTIFF="IF_SAFER")
    for key in ("transform", "crs"):
        profile.pop(key, None)
    if source.transform is not None:
        profile["transform"] = source.transform
    if source.crs is not None:
        profile["crs"] = source.crs

    def write(tmp: Path) -> None:
        with ungeoreferenced_ok():
            with rasterio.open(tmp, "w", **profile) as out:
                out.update_tags(**tags)
                for (col, row, width, height), path in parts:
                    with rasterio.open(path) as part:
                        out.write(part.read(), window=Window(col, row, width, height))

    atomic_write_with(dst, write)


def predict_in_regions(source: RasterSource, dst: str | os.PathLike[str],
                       predict_one: Callable[[RasterRegion, Path], Any]) -> tuple[list[Any], float]:
    """Run ``predict_one(region, out_path)`` on each data region of ``source``; mosaic into ``dst``.

    Returns ``(the predictor's results per region, data share of the raster)``. The output has the
    source's size and grid; blocks outside every region are absent from it (sparse).
    """
    dst = Path(dst)
    regions = data_regions(source.blocks)
    workdir = Path(tempfile.mkdtemp(prefix=".regions-", dir=dst.parent if dst.parent.exists() else None))
    try:
        results, parts = [], []
        for i, region in enumerate(regions):
            out = workdir / f"region{i}.tif"
            results.append(predict_one(RasterRegion(source, region), out))
            parts.append((region, out))
        if parts:
            _mosaic(parts, source, dst)
        return results, source.data_share
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def predict_geotiff(path: str | os.PathLike[str], dst: str | os.PathLike[str],
                    predict_one: Callable[[str | os.PathLike[str] | RasterSource, Path], Any]) -> tuple[Any, str]:
    """Predict a GeoTIFF whole, or region by region when under ``SPARSE_SHARE`` of it holds data.

    ``predict_one(source, out_path)`` returns a summary with ``valid_pixels``/``building_pixels``
    (``predict_raster``'s). Returns ``(summary, note)``: for a sparse raster the summary's pixel
    counts are summed over the regions and ``note`` says how much of the raster held data.
    """
    from dataclasses import replace

    with RasterSource(path) as source:
        if source.data_share >= SPARSE_SHARE:
            return predict_one(path, Path(dst)), ""
        results, share = predict_in_regions(source, dst, predict_one)
        if not results:
            raise ValueError(f"{Path(path).name}: no stored block (validate_input refuses such files)")
        summary = replace(results[0], path=Path(dst), width=source.width, height=source.height,
                          windows=sum(r.windows for r in results),
                          valid_pixels=sum(r.valid_pixels for r in results),
                          building_pixels=sum(r.building_pixels for r in results))
        return summary, f"; data in {share:.4%} of the raster, {len(results)} region(s) predicted, empty blocks skipped"
