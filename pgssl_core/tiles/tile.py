"""The in-memory tile: 8-bit RGB pixels, a validity mask, georeferencing and source metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import affine
import numpy as np
from rasterio.crs import CRS

from pgssl_core.errors import TileError
from pgssl_core.tiles.formats import check_min_size
from pgssl_core.tiles.georef import grid_bounds


class GeoGrid:
    """Georeferencing shared by :class:`Tile` and ``RasterSource``: both have ``transform``, ``crs``,
    ``width`` and ``height``."""

    transform: affine.Affine | None
    crs: CRS | None

    if TYPE_CHECKING:
        # Declared for the type checker only: RasterSource sets them as attributes, Tile derives them from
        # its image (read-only properties), so the base class must not create either at run time.
        @property
        def width(self) -> int:
            """Width in pixels."""

        @property
        def height(self) -> int:
            """Height in pixels."""

    @property
    def georeferenced(self) -> bool:
        """True when both a transform and a CRS are known (needed for maps and district stats)."""
        return self.transform is not None and self.crs is not None

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(left, bottom, right, top)`` in CRS units (covers rotated grids too), or ``None``."""
        return grid_bounds(self.transform, self.width, self.height) if self.georeferenced else None


@dataclass
class TileMeta:
    """What the source file says about itself (header facts, not the converted tile)."""

    width: int  # px
    height: int  # px
    bands: int  # band count in the file (alpha included; a palette image counts its palette's colours)
    dtype: str  # numpy name of the stored pixel type, e.g. "uint8", "uint16", "float32"
    driver: str  # "GTiff" | "PNG" | "JPEG" | "WEBP"
    nodata: float | None  # declared nodata value (GeoTIFF), else None
    source_name: str  # file name only, never a full path


@dataclass(eq=False)
class Tile(GeoGrid):
    """One tile ready for labelling, training or inference.

    ``image`` is (H, W, 3) uint8 RGB, ``valid`` (H, W) bool (True where the pixel has data).
    ``transform`` maps (col, row) pixel corners to ``crs`` coordinates.
    """

    image: np.ndarray
    valid: np.ndarray
    transform: affine.Affine | None
    crs: CRS | None
    meta: TileMeta
    not_georeferenced_reason: str | None = None

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8, got {self.image.shape} {self.image.dtype}")
        if self.valid.shape != self.image.shape[:2] or self.valid.dtype != np.bool_:
            raise ValueError(f"valid must be (H, W) bool matching the image, got {self.valid.shape} {self.valid.dtype}")
        if self.georeferenced:
            self.not_georeferenced_reason = None
        elif self.not_georeferenced_reason is None:
            missing = "CRS" if self.transform is not None else "transform"
            self.not_georeferenced_reason = f"{self.meta.driver} source has no {missing}"

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.image.shape[1])

    @property
    def nodata_fraction(self) -> float:
        """Fraction (0..1) of pixels without data."""
        return float(1.0 - self.valid.mean()) if self.valid.size else 1.0


def all_nodata_error(name: str) -> TileError:
    """The one-line error for a file (or tile) without a single valid pixel."""
    return TileError(f"{name}: every pixel is nodata; there is nothing to label or map")


def validate_tile(tile: Tile) -> Tile:
    """Refuse tiles too small to use or without a single valid pixel; returns ``tile``."""
    check_min_size(tile.meta.source_name, tile.width, tile.height)
    if not tile.valid.any():
        raise all_nodata_error(tile.meta.source_name)
    return tile
