"""Format sniffing and size limits for tile inputs.

The format of a file is decided by its first bytes, never by its extension, so a text file, a
PDF or an EPS renamed ``.png`` is refused before any image library parses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from pgssl_core.errors import TileError

#: Default pixel limit (width * height) for reading one file whole: 8192 x 8192 = 64 Mpx.
#: Larger GeoTIFFs are read window by window (``iter_raster_tiles``); larger PNG/JPEG/WebP
#: files are refused as possible decompression bombs.
MAX_TILE_PIXELS: int = 8192 * 8192
#: Longest side (px) a PNG/JPEG/WebP header may claim (JPEG's own format limit is 65,535).
MAX_IMAGE_SIDE: int = 65_535
#: Longest side (px) a GeoTIFF header may claim (2,000,000 px is 200 km at 0.1 m/px).
MAX_RASTER_SIDE: int = 2_000_000
#: Smallest side (px) of a usable tile: smaller ones carry too little context for a U-Net.
MIN_TILE_SIDE: int = 32

#: GeoTIFF file-name suffixes: the inputs that may be sparse or large enough to be read by regions or bands.
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
#: File-name suffixes of the formats above, for picking image files out of a folder (a folder import, an
#: upload archive, a training or prediction folder). The format of a picked file is still sniffed.
IMAGE_SUFFIXES: tuple[str, ...] = (*GEOTIFF_SUFFIXES, ".png", ".jpg", ".jpeg", ".webp")

#: Pillow format names per sniffed format; Pillow is only ever allowed to use these.
PILLOW_FORMATS: dict[str, str] = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
#: Driver name reported in ``TileMeta.driver`` per sniffed format.
DRIVER_NAMES: dict[str, str] = {"gtiff": "GTiff", "png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}

_HEADER_BYTES = 16

# Known-but-refused signatures, only to make the error message say what the file is.
_REFUSED_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"%PDF", "PDF"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"<", "HTML/XML text"),
    (b"{", "JSON text"),
)


def _describe_refused(head: bytes) -> str:
    """A short human name for an unsupported header (for the error message)."""
    for signature, name in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            return name
    if head[4:12] in (b"ftypheic", b"ftypavif", b"ftypmif1"):
        return "HEIF/AVIF"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary format"
    return "text"


def _format_from_header(head: bytes) -> str | None:
    """The allowed format for a file header, or ``None``."""
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic TIFF and BigTIFF
        return "gtiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def sniff_format(path: str | os.PathLike[str]) -> str:
    """The format of ``path`` by magic bytes: ``"gtiff"``, ``"png"``, ``"jpeg"`` or ``"webp"``.

    Raises ``TileError`` for a missing, unreadable or empty file and for any other format.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEADER_BYTES)
    except FileNotFoundError:
        raise TileError(f"{path.name}: file not found") from None
    except IsADirectoryError:
        raise TileError(f"{path.name}: is a folder, not an image file") from None
    except OSError as exc:
        raise TileError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise TileError(f"{path.name}: the file is empty (0 bytes)")
    fmt = _format_from_header(head)
    if fmt is None:
        raise TileError(
            f"{path.name}: content is {_describe_refused(head)}, not a GeoTIFF, PNG, JPEG or WebP image"
        )
    return fmt


def check_dimensions(name: str, fmt: str, width: int, height: int, max_pixels: int | None) -> None:
    """Refuse absurd header sizes and (when ``max_pixels`` is given) more pixels than allowed.

    ``width``/``height`` are in pixels as the file header claims them, before any decoding.
    """
    max_side = MAX_RASTER_SIDE if fmt == "gtiff" else MAX_IMAGE_SIDE
    if width < 1 or height < 1 or width > max_side or height > max_side:
        raise TileError(
            f"{name}: header claims an absurd size of {width} x {height} px "
            f"(allowed 1 to {max_side:,} px per side); the file is corrupt or malicious"
        )
    if max_pixels is not None and width * height > max_pixels:
        hint = (
            "split it into tiles (iter_raster_tiles) instead of reading it whole"
            if fmt == "gtiff"
            else "refused as a possible decompression bomb; convert it to a tiled GeoTIFF"
        )
        raise TileError(
            f"{name}: {width} x {height} px ({width * height / 1e6:.1f} Mpx) is over the "
            f"{max_pixels / 1e6:.1f} Mpx limit for one tile; {hint}"
        )


def check_min_size(name: str, width: int, height: int) -> None:
    """Refuse tiles smaller than ``MIN_TILE_SIDE`` px on either side."""
    if width < MIN_TILE_SIDE or height < MIN_TILE_SIDE:
        raise TileError(
            f"{name}: {width} x {height} px is too small; tiles need at least {MIN_TILE_SIDE} px on each side"
        )
