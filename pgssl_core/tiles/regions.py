"""The data regions of a sparse GeoTIFF: what is read when work should follow the stored data.

A sparse raster (see :mod:`pgssl_core.tiles.blocks`) is cut into *data regions*: the bounding boxes
of groups of stored blocks that touch (8-connected). Each region is read as a ``RasterRegion`` (a
``RasterSource`` restricted to a window, sharing the whole raster's colour stretch). Prediction region by
region is :mod:`pgssl_core.infer.regions`; reading a sparse prediction back is
:func:`pgssl_core.assess.footprints.read_prediction_regions`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from pgssl_core.tiles.blocks import BlockPresence
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
