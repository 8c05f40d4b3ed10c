"""Map layers of a whole project: one mask GeoTIFF per tile, all footprints in one GeoPackage.

Output folder layout (every file written atomically, so a file that exists is complete)::

    masks/<tile_id>.tif   building mask, uint8 0/1, 255 = nodata, the tile's grid and CRS
    footprints.gpkg       layer "footprints": area_m2, tile, geometry (WGS84)
    extents.gpkg          layer "extents": tile, geometry (WGS84) = imaged (valid) pixels
    masks.zip             every mask GeoTIFF, for download
    manifest.json         source, label, model, tile counts, footprint count, time

Resumable: a tile whose mask file exists is not predicted again, so an interrupted run continues
where it stopped; the vector outputs are rebuilt from the masks of the tiles in the catalog now.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio

from pgssl_core.assess import footprints_and_extents, write_vector
from pgssl_core.catalog import Project, TileRecord
from pgssl_core.errors import PgsslError
from pgssl_core.infer.geotiff_out import encode, output_profile, tag_output
from pgssl_core.infer.pipeline import predict_file
from pgssl_core.infer.settings import PredictSettings
from pgssl_core.io import atomic_write_bytes, atomic_write_json, atomic_write_with

MASKS_DIR = "masks"
FOOTPRINTS_FILE = "footprints.gpkg"
EXTENTS_FILE = "extents.gpkg"
MASKS_ZIP = "masks.zip"
MANIFEST_FILE = "manifest.json"
REFERENCE_LABEL = "reference masks (ground truth)"

#: ``progress(tiles_done, tiles_total)``, called after each tile (skipped ones included).
TileProgress = Callable[[int, int], None]


class PredictionCancelled(PgsslError):
    """The caller asked the project prediction to stop; finished tiles are kept for a resume."""


@dataclass
class ProjectMaps:
    """Paths of a finished output folder (see module doc) and its manifest."""

    out_dir: Path
    manifest: dict[str, Any]

    @property
    def footprints(self) -> Path:
        """The footprints GeoPackage (layer ``footprints``)."""
        return self.out_dir / FOOTPRINTS_FILE

    @property
    def extents(self) -> Path:
        """The imaged-extents GeoPackage (layer ``extents``)."""
        return self.out_dir / EXTENTS_FILE

    @property
    def masks_zip(self) -> Path:
        """Every mask GeoTIFF in one zip, for download."""
        return self.out_dir / MASKS_ZIP

    def mask(self, tile_id: str) -> Path:
        """The mask GeoTIFF of ``tile_id``."""
        return self.out_dir / MASKS_DIR / f"{tile_id}.tif"


def mapped_tiles(project: Project) -> list[TileRecord]:
    """The tiles that can go on a map: georeferenced ones, in catalog order."""
    return [r for r in project.tiles() if r.georeferenced]


def _finish(project: Project, out_dir: Path, done_ids: list[str], meta: dict[str, Any]) -> ProjectMaps:
    """Footprints, extents, zip and manifest from the masks of ``done_ids``."""
    if not done_ids:
        raise PgsslError(f"project {project.name!r} has no georeferenced tile to put on a map: "
                         "upload GeoTIFFs with a CRS")
    paths = [out_dir / MASKS_DIR / f"{tid}.tif" for tid in done_ids]
    footprints, extents = footprints_and_extents(paths)
    write_vector(footprints, out_dir / FOOTPRINTS_FILE, "footprints")
    write_vector(extents, out_dir / EXTENTS_FILE, "extents")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:  # the GeoTIFFs are deflated already
        for path in paths:
            zf.write(path, f"masks/{path.name}")
    atomic_write_bytes(out_dir / MASKS_ZIP, buffer.getvalue())
    manifest = {**meta, "project": project.name, "tiles": len(done_ids), "tile_ids": done_ids,
                "footprints": len(footprints), "finished": time.time()}
    atomic_write_json(out_dir / MANIFEST_FILE, manifest)
    return ProjectMaps(out_dir, manifest)


def _each_tile(records: list[TileRecord], out_dir: Path, make_mask: Callable[[TileRecord, Path], bool],
               progress: TileProgress | None, cancel: Callable[[], bool] | None) -> list[str]:
    """Run ``make_mask`` on tiles whose mask is missing; returns ids that have a mask now."""
    (out_dir / MASKS_DIR).mkdir(parents=True, exist_ok=True)
    done = []
    for i, record in enumerate(records):
        if cancel is not None and cancel():
            raise PredictionCancelled(f"prediction cancelled after {i} of {len(records)} tiles; "
                                      "start it again to continue")
        dst = out_dir / MASKS_DIR / f"{record.id}.tif"
        if dst.is_file() or make_mask(record, dst):
            done.append(record.id)
        if progress is not None:
            progress(i + 1, len(records))
    return done


def predict_project(project: Project, model_path: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                    progress: TileProgress | None = None, cancel: Callable[[], bool] | None = None,
                    threshold: float = 0.5, device: str | None = None,
                    tile_ids: Collection[str] | None = None) -> ProjectMaps:
    """Predict every georeferenced tile with the model file at ``model_path`` into ``out_dir``.

    Masks are thresholded at ``threshold`` (building probability). ``cancel()`` is checked before
    each tile and raises :class:`PredictionCancelled`. ``tile_ids`` limits the prediction, and the map
    layers, to those tiles (part of a project, :mod:`pgssl_core.project.predict_area`; None: every tile).
    Returns the output paths and manifest.
    """
    from pgssl_core.catalog.gsd_settings import project_gsd
    from pgssl_core.models import load_model

    out_dir = Path(out_dir)
    model, config, _meta = load_model(model_path, device or "cpu")
    # tiles are read at the model's working GSD; sparse tiles by their data regions, as the predict command does
    settings = PredictSettings(output="mask", threshold=threshold, device=device,
                               stated_gsd_m=project_gsd(project).tile_gsd_m)

    def make_mask(record: TileRecord, dst: Path) -> bool:
        predict_file(model, config, project.tile_path(record.id), dst, settings)
        return True

    records = [r for r in mapped_tiles(project) if tile_ids is None or r.id in tile_ids]
    done = _each_tile(records, out_dir, make_mask, progress, cancel)
    from pgssl_core.project.adapted_model import model_label

    meta = {"source": "model", "label": model_label(model_path), "model": str(model_path),
            "threshold": threshold}
    return _finish(project, out_dir, done, meta)


def write_mask_geotiff(path: Path, mask: np.ndarray, valid: np.ndarray, transform, crs) -> None:
    """Write a (H, W) 0/1 mask as a prediction-style GeoTIFF (nodata 255 where ``valid`` is False)."""
    band = encode(np.asarray(mask, dtype=np.float32), np.asarray(valid, dtype=bool), "mask", 0.5)
    profile = output_profile(band.shape[1], band.shape[0], transform, crs)

    def write(tmp: Path) -> None:
        with rasterio.open(tmp, "w", **profile) as ds:
            tag_output(ds, "mask", 0.5, {"source": "reference"})
            ds.write(band, 1)

    atomic_write_with(path, write)


def reference_footprints(project: Project, out_dir: str | os.PathLike[str],
                         progress: TileProgress | None = None) -> ProjectMaps:
    """The same outputs as :func:`predict_project` from the stored reference masks (ground truth).

    Georeferenced tiles without a reference mask are left out (they are not imaged for this layer).
    A finished folder made from the same tiles is returned as it is (ground truth does not change).
    """
    out_dir = Path(out_dir)
    existing = load_project_maps(out_dir)
    wanted = [r.id for r in mapped_tiles(project) if r.has_reference]
    if existing is not None and existing.manifest.get("tile_ids") == wanted:
        return existing

    def make_mask(record: TileRecord, dst: Path) -> bool:
        reference = project.reference_mask(record.id)
        if reference is None:
            return False
        tile = project.read(record.id)
        write_mask_geotiff(dst, reference, tile.valid, tile.transform, tile.crs)
        return True

    done = _each_tile(mapped_tiles(project), out_dir, make_mask, progress, None)
    return _finish(project, out_dir, done, {"source": "reference", "label": REFERENCE_LABEL})


def load_project_maps(out_dir: str | os.PathLike[str]) -> ProjectMaps | None:
    """A finished output folder (manifest present), or None."""
    import json

    out_dir = Path(out_dir)
    path = out_dir / MANIFEST_FILE
    if not path.is_file():
        return None
    return ProjectMaps(out_dir, json.loads(path.read_text(encoding="utf-8")))


def read_layers(maps: ProjectMaps) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """``(footprints, extents)`` of a finished output folder, in WGS84."""
    return gpd.read_file(maps.footprints, layer="footprints"), gpd.read_file(maps.extents, layer="extents")
