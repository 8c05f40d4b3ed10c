"""Write SYNTHETIC scene tiles as GeoTIFFs (image + mask), labelled synthetic in their tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from pgssl_core.demo.scene import SYNTHETIC_LABEL, SceneTile
from pgssl_core.io import atomic_write_with


def _write_geotiff(path: Path, bands: np.ndarray, tile: SceneTile, description: str) -> None:
    """Write ``bands`` (C, H, W) uint8 with the tile's CRS/transform and synthetic tags, atomically."""
    profile = {
        "driver": "GTiff", "dtype": "uint8", "count": bands.shape[0], "height": bands.shape[1],
        "width": bands.shape[2], "crs": tile.crs, "transform": tile.transform, "compress": "deflate",
    }  # fmt: skip

    def writer(tmp: Path) -> None:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(bands)
            dst.update_tags(SYNTHETIC="yes", LABEL=SYNTHETIC_LABEL, DESCRIPTION=description,
                            **{k.upper(): str(v) for k, v in tile.meta.items() if k not in ("synthetic", "label")})

    atomic_write_with(path, writer)


def save_scene_tile(tile: SceneTile, out_dir: Path) -> tuple[Path, Path]:
    """Save ``<name>.tif`` (RGB) and ``<name>_mask.tif`` (0/1) under ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    image_path = out_dir / f"{tile.site.name}.tif"
    mask_path = out_dir / f"{tile.site.name}_mask.tif"
    _write_geotiff(image_path, np.moveaxis(tile.image, -1, 0), tile, "synthetic RGB image")
    _write_geotiff(mask_path, tile.mask[None], tile, "exact building mask, 1 = building")
    return image_path, mask_path
