"""Windowed, memory-bounded access to GeoTIFFs of any size.

Only the requested window (plus GDAL's bounded block cache) is ever in memory. For pixel types
other than uint8 the stretch range of every band is computed ONCE from a decimated read of the
whole raster (GDAL uses overviews when the file has them), so all windows share one colour scale.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import affine
import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.windows import Window

from pgssl_core.errors import TileError, first_line
from pgssl_core.tiles.blocks import BlockPresence, block_presence
from pgssl_core.tiles.formats import DRIVER_NAMES, check_dimensions, sniff_format
from pgssl_core.tiles.georef import shift_transform, ungeoreferenced_ok
from pgssl_core.tiles.stretch import needs_stretch, resolve_band_map, shared_range, to_rgb8
from pgssl_core.tiles.tile import GeoGrid, TileMeta

#: Pixel budget (width * height) of the decimated read used for the global stretch statistics.
STATS_MAX_PIXELS: int = 1024 * 1024
#: GDAL block cache (bytes) while reading: GDAL's default (5 % of RAM) let one pass over a
#: 16k x 16k uint16 raster grow the process to ~1.4 GiB; windows aligned to the grid need little.
GDAL_CACHE_BYTES: int = 64 * 2**20
#: Side (px) of each sample window used for the statistics of a large raster without overviews.
STATS_SAMPLE_SIDE: int = 128
#: Below this valid fraction in the window sample, fall back to a decimated read of everything.
STATS_MIN_VALID_SAMPLE: float = 0.01


#: What opening or reading a damaged GeoTIFF raises: GDAL's errors, and ValueError for header fields that
#: rasterio cannot decode (a CRS text that is not UTF-8 raised UnicodeDecodeError, found by fuzzing).
GDAL_READ_ERRORS: tuple[type[Exception], ...] = (RasterioError, ValueError)


def _root_message(exc: BaseException) -> str:
    """First line of the innermost cause: GDAL's own reason ("Read failed" wraps the useful one)."""
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return first_line(exc)


def corrupt_error(path: Path, exc: BaseException) -> TileError:
    """The one-line ``TileError`` for a GeoTIFF that GDAL cannot decode (file name, no folders)."""
    detail = _root_message(exc).replace(str(path), path.name)
    return TileError(f"{path.name}: GeoTIFF is truncated or corrupt ({detail})")


def _colour_band_default(ds: rasterio.DatasetReader) -> tuple[int, int, int] | None:
    """Bands tagged red/green/blue in the file, when all three are present."""
    interp = list(ds.colorinterp)
    wanted = (ColorInterp.red, ColorInterp.green, ColorInterp.blue)
    if all(c in interp for c in wanted):
        red, green, blue = (interp.index(c) + 1 for c in wanted)
        return red, green, blue
    return None


def _palette_lut(ds: rasterio.DatasetReader, band_map: Sequence[int] | None) -> tuple[int, np.ndarray] | None:
    """``(band, lut)`` when the image is a palette (colour-table) band to expand, else None.

    ``lut`` is (N, 4) uint8 RGBA indexed by the stored value (N = 256 for 8-bit, 65,536 for 16-bit
    palettes); values the table does not list stay black and opaque. The palette is used when the file
    declares band 1 as a palette band and no band map is given, or the band map names only that band.
    """
    if band_map is None:
        band = 1
    elif len(set(band_map)) == 1:
        band = int(next(iter(band_map)))
    else:
        return None
    if not 1 <= band <= ds.count or ds.colorinterp[band - 1] != ColorInterp.palette:
        return None
    try:
        table = ds.colormap(band)
    except ValueError:  # declared as palette but without a colour table: read it as grey values
        return None
    dtype = np.dtype(ds.dtypes[band - 1])
    if dtype not in (np.uint8, np.uint16):
        return None
    lut = np.zeros((256 if dtype == np.uint8 else 65536, 4), np.uint8)
    lut[:, 3] = 255
    for index, rgba in table.items():
        if 0 <= index < len(lut):
            lut[index] = rgba
    return band, lut


def _georeferencing(ds: rasterio.DatasetReader) -> tuple[affine.Affine | None, CRS | None, str | None]:
    """(transform, crs, reason-if-not-georeferenced) of an open GeoTIFF."""
    crs = ds.crs if ds.crs else None
    transform = None if ds.transform.is_identity else ds.transform
    if crs is not None and transform is not None:
        return transform, crs, None
    if transform is None and ds.gcps[0]:
        return None, None, "GeoTIFF is located by ground control points only; warp it to a grid first"
    if crs is None and transform is None:
        return None, None, "GeoTIFF has no CRS and no geotransform"
    return transform, crs, "GeoTIFF has no CRS" if crs is None else "GeoTIFF has a CRS but no geotransform"


#: Block presence per file version (resolved path, mtime, size, bands): validation, splitting and
#: prediction each open the file, and the table of a 200,000 px raster takes 0.1-1 s to scan.
_PRESENCE_CACHE: dict[tuple, BlockPresence] = {}
_PRESENCE_CACHE_SIZE = 16


def _cached_presence(path: Path, indexes: list[int], ds: rasterio.DatasetReader) -> BlockPresence:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, tuple(indexes))
    if key not in _PRESENCE_CACHE:
        if len(_PRESENCE_CACHE) >= _PRESENCE_CACHE_SIZE:
            _PRESENCE_CACHE.pop(next(iter(_PRESENCE_CACHE)))  # oldest first
        _PRESENCE_CACHE[key] = block_presence(ds, indexes)
    return _PRESENCE_CACHE[key]


class RasterSource(GeoGrid):
    """A GeoTIFF opened for windowed reads as 8-bit RGB (use as a context manager).

    Attributes: ``width``/``height`` (px), ``transform`` (pixel -> CRS, or None), ``crs`` (or None),
    ``not_georeferenced_reason``, ``meta`` (``TileMeta`` of the file), ``band_map`` (1-based R, G, B).
    """

    def __init__(self, path: str | os.PathLike[str], band_map: Sequence[int] | None = None) -> None:
        self.path = Path(path)
        name = self.path.name
        fmt = sniff_format(self.path)
        if fmt != "gtiff":
            raise TileError(f"{name}: windowed reading needs a GeoTIFF; {DRIVER_NAMES[fmt]} files are read whole")
        try:
            with ungeoreferenced_ok():
                self._ds = rasterio.open(self.path)
        except GDAL_READ_ERRORS as exc:
            raise corrupt_error(self.path, exc) from None
        try:
            self._setup(name, band_map)
        except BaseException:
            self._ds.close()
            raise

    def _setup(self, name: str, band_map: Sequence[int] | None) -> None:
        ds = self._ds
        check_dimensions(name, "gtiff", ds.width, ds.height, None)
        dtype = np.dtype(ds.dtypes[0])
        if dtype.kind == "c":
            raise TileError(f"{name}: complex-valued rasters (e.g. radar) are not imagery this app can use")
        self.width: int = ds.width
        self.height: int = ds.height
        self.transform, self.crs, self.not_georeferenced_reason = _georeferencing(ds)
        self._palette = _palette_lut(ds, band_map)
        if self._palette is not None:  # colour table: the stored values are indices, not intensities
            self.band_map = (self._palette[0],) * 3
        else:
            self.band_map = resolve_band_map(band_map, ds.count, name, default=_colour_band_default(ds))
        self._indexes = sorted(set(self.band_map))
        nodata = ds.nodata
        self.meta = TileMeta(width=ds.width, height=ds.height, bands=ds.count, dtype=dtype.name,
                             driver="GTiff", nodata=None if nodata is None else float(nodata),
                             source_name=name)
        self._needs_stretch = self._palette is None and needs_stretch(dtype)
        self._ranges: dict[int, tuple[float, float]] | None = None  # computed on first use
        self._blocks: BlockPresence | None = None  # computed on first use

    @property
    def blocks(self) -> BlockPresence:
        """Which blocks of the file hold data (read from the offset table once, on first use)."""
        if self._blocks is None:
            self._blocks = _cached_presence(self.path, self._indexes, self._ds)
        return self._blocks

    @property
    def data_share(self) -> float:
        """Share (0..1) of the raster inside blocks stored in the file (1.0 unless it is sparse)."""
        return self.blocks.data_share

    def window_has_data(self, col_off: int, row_off: int, width: int, height: int) -> bool:
        """False when every block under the window (px) is absent from a sparse file: skip it unread."""
        return self.blocks.window_has_data(col_off, row_off, width, height)

    @property
    def stretch_ranges(self) -> dict[int, tuple[float, float]] | None:
        """Per-band ``(low, high)`` stretch range (band index -> values), None for uint8 data.

        Computed once, on first use, so opening a raster just to look at its header stays cheap.
        """
        if self._needs_stretch and self._ranges is None:
            self._ranges = self._global_ranges()
        return self._ranges

    # -- context manager -------------------------------------------------------------------------
    def close(self) -> None:
        """Close the underlying rasterio dataset."""
        self._ds.close()

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------------
    def _read(self, window: Window | None, out_shape: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
        """Raw mapped bands (k, h, w) and their combined validity (h, w) for a window or decimation."""
        kwargs: dict = {"window": window}
        if out_shape is not None:
            kwargs.update(out_shape=(len(self._indexes), *out_shape), resampling=Resampling.nearest)
        try:
            with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES):
                data = self._ds.read(self._indexes, **kwargs)
                masks = self._ds.read_masks(self._indexes, **kwargs)
        except RasterioError as exc:
            raise corrupt_error(self.path, exc) from None
        # Nodata is declared per band: like GDAL's dataset mask, a pixel is missing only when every
        # band is (a black-red roof pixel (0, 40, 60) with nodata=0 is data). Alpha/internal masks
        # are shared by all bands, so this changes nothing for them.
        valid = np.any(masks > 0, axis=0)
        if window is not None and out_shape is None and not self.blocks.complete:
            # Blocks absent from a sparse file read back as zeros: they are no data, not black pixels.
            valid &= self.blocks.window_present_pixels(int(window.col_off), int(window.row_off),
                                                       int(window.width), int(window.height))
        if data.dtype.kind == "f":
            valid &= np.all(np.isfinite(data), axis=0)  # NaN is nodata even when undeclared
        return data, valid

    def _sample_windows(self) -> list[Window]:
        """An evenly spaced grid of full-resolution windows totalling about ``STATS_MAX_PIXELS``."""
        side_x, side_y = min(STATS_SAMPLE_SIDE, self.width), min(STATS_SAMPLE_SIDE, self.height)
        per_axis = max(1, math.isqrt(STATS_MAX_PIXELS // (side_x * side_y)))

        def offsets(size: int, side: int) -> list[int]:
            count = min(per_axis, max(1, size // side))
            return sorted({round(i * (size - side) / max(1, count - 1)) for i in range(count)})

        return [Window(col, row, side_x, side_y)
                for row in offsets(self.height, side_y) for col in offsets(self.width, side_x)]

    def _stats_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """Mapped bands (k, N) and validity (N,) of a pixel sample of at most ~``STATS_MAX_PIXELS``.

        Small rasters are read whole; rasters with overviews are read decimated (GDAL serves the
        overview); others are sampled by a grid of windows, because a decimated read of a file
        without overviews decodes every block, often more than once (minutes on large files).
        """
        k = len(self._indexes)
        if self.width * self.height <= STATS_MAX_PIXELS:
            data, valid = self._read(Window(0, 0, self.width, self.height), None)
            return data.reshape(k, -1), valid.reshape(-1)
        if not self.blocks.complete:
            # Sparse file: sample the stored blocks only (evenly spaced, within the pixel budget).
            present = self.blocks.present_windows()
            per_block = max(1, self.blocks.block_h * self.blocks.block_w)
            keep = max(1, min(len(present), STATS_MAX_PIXELS // per_block))
            picks = [present[round(i * (len(present) - 1) / max(1, keep - 1))] for i in range(keep)]
            parts = [self._read(Window(*w), None) for w in dict.fromkeys(picks)]
            return (np.concatenate([d.reshape(k, -1) for d, _ in parts], axis=1),
                    np.concatenate([v.reshape(-1) for _, v in parts]))
        step = math.ceil(math.sqrt(self.width * self.height / STATS_MAX_PIXELS))
        decimated = (max(1, math.ceil(self.height / step)), max(1, math.ceil(self.width / step)))
        if not self._ds.overviews(self._indexes[0]):
            parts = [self._read(window, None) for window in self._sample_windows()]
            data = np.concatenate([d.reshape(k, -1) for d, _ in parts], axis=1)
            valid = np.concatenate([v.reshape(-1) for _, v in parts])
            if valid.mean() >= STATS_MIN_VALID_SAMPLE:
                return data, valid
            # The sample missed the data (mostly-empty raster): pay for the full decimated read.
        data, valid = self._read(None, decimated)
        return data.reshape(k, -1), valid.reshape(-1)

    def _global_ranges(self) -> dict[int, tuple[float, float]]:
        """One robust stretch range shared by the mapped bands (grey stays grey), from a bounded sample."""
        data, valid = self._stats_sample()
        return shared_range({index: data[i] for i, index in enumerate(self._indexes)}, self._indexes, valid)

    def window_transform(self, col_off: int, row_off: int) -> affine.Affine | None:
        """Transform of a window whose top-left pixel is (col_off, row_off), or None."""
        return shift_transform(self.transform, col_off, row_off)

    def read_window(self, col_off: int, row_off: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
        """``(rgb (h, w, 3) uint8, valid (h, w) bool)`` of a window inside the raster (px offsets/sizes)."""
        if width < 1 or height < 1 or col_off < 0 or row_off < 0 or \
                col_off + width > self.width or row_off + height > self.height:
            raise ValueError(
                f"window cols {col_off}+{width}, rows {row_off}+{height} is outside the "
                f"{self.width} x {self.height} raster"
            )
        data, valid = self._read(Window(col_off, row_off, width, height), None)
        if self._palette is not None:
            rgba = self._palette[1][data[0]]
            valid &= rgba[..., 3] > 0  # a transparent table entry is no data, as in the PNG reader
            rgb = np.ascontiguousarray(rgba[..., :3])
            rgb[~valid] = 0
            return rgb, valid
        bands = {index: data[i] for i, index in enumerate(self._indexes)}
        return to_rgb8(bands, self.band_map, self.stretch_ranges, valid), valid

    def nodata_fraction(self, block: int = 1024) -> float:
        """Exact fraction (0..1) of nodata pixels, counted block by block (bounded memory).

        Windows over blocks absent from a sparse file are counted as nodata without being read, so
        the time is in proportion to the stored data, not to the declared size.
        """
        valid_pixels = 0
        for row in range(0, self.height, block):
            for col in range(0, self.width, block):
                w, h = min(block, self.width - col), min(block, self.height - row)
                if not self.window_has_data(col, row, w, h):
                    continue
                _, valid = self._read(Window(col, row, w, h), None)
                valid_pixels += int(np.count_nonzero(valid))
        return 1.0 - valid_pixels / (self.width * self.height)


def open_raster(path: str | os.PathLike[str], band_map: Sequence[int] | None = None) -> RasterSource:
    """Open a GeoTIFF for windowed reads; ``band_map`` = 1-based band indices for R, G, B."""
    return RasterSource(path, band_map)
