"""Which blocks of a tiled (or striped) GeoTIFF hold data: work in proportion to the data.

A sparse GeoTIFF (GDAL's ``SPARSE_OK``) leaves blocks that were never written out of the file:
their offset and byte count are 0. GDAL reports each block's offset as the ``BLOCK_OFFSET_<x>_<y>``
item of the ``TIFF`` metadata domain, from the file's offset table, without decoding any pixel.
A 200,000 x 200,000 px raster with 512 px blocks has 152,881 of them and is scanned in about a
tenth of a second. Absent blocks are no data, whatever the file's nodata settings say.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import Interleaving

#: Scanning the offset table costs about 1 us per block; beyond this many blocks (a 1-px-strip
#: raster of millions of rows) the scan is skipped and every block is taken as present.
MAX_SCANNED_BLOCKS: int = 4_000_000


@dataclass(frozen=True)
class BlockPresence:
    """Presence of every block: ``present`` is (block rows, block cols) bool; blocks are
    ``block_h`` x ``block_w`` px (the last row/column may be cut by the raster edge)."""

    present: np.ndarray
    block_h: int
    block_w: int
    width: int
    height: int

    @property
    def complete(self) -> bool:
        """True when every block is in the file (nothing to skip)."""
        return bool(self.present.all())

    @property
    def data_share(self) -> float:
        """Share (0..1) of the raster's pixels that lie in blocks present in the file."""
        rows, cols = self.present.shape
        heights = np.full(rows, self.block_h, dtype=np.int64)
        heights[-1] = self.height - self.block_h * (rows - 1)
        widths = np.full(cols, self.block_w, dtype=np.int64)
        widths[-1] = self.width - self.block_w * (cols - 1)
        pixels = heights @ self.present.astype(np.int64) @ widths
        return float(pixels) / (self.width * self.height)

    def _block_range(self, col_off: int, row_off: int, width: int, height: int) -> tuple[slice, slice]:
        rows = slice(row_off // self.block_h, (row_off + height - 1) // self.block_h + 1)
        cols = slice(col_off // self.block_w, (col_off + width - 1) // self.block_w + 1)
        return rows, cols

    def window_has_data(self, col_off: int, row_off: int, width: int, height: int) -> bool:
        """True when any block the window (px) touches is present in the file."""
        rows, cols = self._block_range(col_off, row_off, width, height)
        return bool(self.present[rows, cols].any())

    def window_present_pixels(self, col_off: int, row_off: int, width: int, height: int) -> np.ndarray:
        """(height, width) bool: True where the pixel lies in a block present in the file."""
        rows, cols = self._block_range(col_off, row_off, width, height)
        blocks = self.present[rows, cols]
        y = (np.arange(row_off, row_off + height) // self.block_h) - rows.start
        x = (np.arange(col_off, col_off + width) // self.block_w) - cols.start
        return blocks[np.ix_(y, x)]

    def present_windows(self) -> list[tuple[int, int, int, int]]:
        """``(col_off, row_off, width, height)`` px of every present block, row-major."""
        out = []
        for r, c in zip(*np.nonzero(self.present)):
            row, col = int(r) * self.block_h, int(c) * self.block_w
            out.append((col, row, min(self.block_w, self.width - col), min(self.block_h, self.height - row)))
        return out


def block_presence(ds: rasterio.DatasetReader, indexes: list[int] | None = None) -> BlockPresence:
    """Which blocks of ``ds`` (an open GeoTIFF) are stored in the file, for the bands ``indexes``.

    A block counts as present when any of the bands holds it (with pixel interleaving, all bands
    share one block). Non-TIFF drivers, and rasters with more than ``MAX_SCANNED_BLOCKS`` blocks, are
    reported as complete.
    """
    block_h, block_w = ds.block_shapes[0]
    rows, cols = math.ceil(ds.height / block_h), math.ceil(ds.width / block_w)
    present = np.ones((rows, cols), dtype=bool)
    if ds.driver != "GTiff" or rows * cols > MAX_SCANNED_BLOCKS:
        return BlockPresence(present, block_h, block_w, ds.width, ds.height)
    bands = [1] if ds.interleaving == Interleaving.pixel else (indexes or list(ds.indexes))
    present[:] = False
    for band in bands:
        for r in range(rows):
            for c in range(cols):
                if not present[r, c] and ds.get_tag_item(f"BLOCK_OFFSET_{c}_{r}", "TIFF", bidx=band):
                    present[r, c] = True
    return BlockPresence(present, block_h, block_w, ds.width, ds.height)
