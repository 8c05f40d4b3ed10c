"""A sparse GeoTIFF predicted region by region: work in proportion to the stored data.

A sparse raster (see :mod:`pgssl_core.tiles.blocks`) is cut into data regions
(:func:`pgssl_core.tiles.regions.data_regions`); each is predicted as a
:class:`~pgssl_core.tiles.regions.RasterRegion` and the region outputs are put together into one sparse
GeoTIFF on the source's grid, in which blocks outside every region are never written (they read back as the
output's nodata).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import rasterio
from rasterio.windows import Window
from torch import nn

from pgssl_core.infer.raster import PredictionSummary, predict_raster
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.infer.stitch import Progress
from pgssl_core.io import atomic_write_with
from pgssl_core.models import ModelConfig
from pgssl_core.tiles.georef import ungeoreferenced_ok
from pgssl_core.tiles.raster import RasterSource
from pgssl_core.tiles.regions import SPARSE_SHARE, RasterRegion, Region, data_regions

#: Block side (px) of the mosaic of region outputs: the block size of the sparse inputs we meet (GDAL's
#: default tiled layout, 512 px) keeps "absent in the input" and "absent in the output" on the same blocks.
MOSAIC_BLOCK: int = 512


def _mosaic(parts: list[tuple[Region, Path]], source: RasterSource, dst: Path) -> None:
    """Write the region outputs into one sparse, tiled GeoTIFF on ``source``'s grid at ``dst``."""
    with rasterio.open(parts[0][1]) as first:
        profile: dict[str, Any] = {**first.profile}
        tags = first.tags()
    profile.update(driver="GTiff", width=source.width, height=source.height, tiled=True, blockxsize=MOSAIC_BLOCK,
                   blockysize=MOSAIC_BLOCK, sparse_ok=True, BIGTIFF="IF_SAFER")
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


def predict_regions(model: nn.Module, config: ModelConfig, source: RasterSource, dst: Path,
                    settings: PredictSettings, progress: Progress | None = None) -> list[PredictionSummary]:
    """Predict each data region of ``source`` and mosaic the outputs into ``dst`` (the source's size and grid;
    blocks outside every region are absent). Returns the summary of each region, row-major."""
    workdir = Path(tempfile.mkdtemp(prefix=".regions-", dir=dst.parent if dst.parent.exists() else None))
    try:
        results, parts = [], []
        for i, region in enumerate(data_regions(source.blocks)):
            out = workdir / f"region{i}.tif"
            results.append(predict_raster(model, config, RasterRegion(source, region), out, settings, progress))
            parts.append((region, out))
        if parts:
            _mosaic(parts, source, dst)
        return results
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def predict_geotiff(model: nn.Module, config: ModelConfig, path: Path, dst: Path, settings: PredictSettings,
                    progress: Progress | None = None) -> tuple[PredictionSummary, str]:
    """Predict a GeoTIFF whole, or region by region when under :data:`SPARSE_SHARE` of it holds data.

    Returns ``(summary, note)``: for a sparse raster the summary's window and pixel counts are summed over the
    regions and ``note`` says how much of the raster held data ("" otherwise).

    Raises:
        ValueError: a sparse raster without any stored block (``validate_input`` refuses such files first).
    """
    with RasterSource(path) as source:
        if source.data_share >= SPARSE_SHARE:
            return predict_raster(model, config, path, dst, settings, progress), ""
        results = predict_regions(model, config, source, dst, settings, progress)
        if not results:
            raise ValueError(f"{path.name}: no stored block (validate_input refuses such files)")
        summary = replace(results[0], path=dst, width=source.width, height=source.height,
                          windows=sum(r.windows for r in results),
                          valid_pixels=sum(r.valid_pixels for r in results),
                          building_pixels=sum(r.building_pixels for r in results))
        note = (f"; data in {source.data_share:.4%} of the raster, {len(results)} region(s) predicted, "
                "empty blocks skipped")
        return summary, note
