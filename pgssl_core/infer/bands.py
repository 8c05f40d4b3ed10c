"""One raster cut into row bands, one per rank, and put back together by GDAL.

Bands follow the sliding-window layout: a rank predicts whole strips (rows of windows), starting from
the first earlier strip whose windows reach its first row, so every row it keeps is blended from exactly
the windows the whole-raster prediction uses (:func:`pgssl_core.infer.stitch.first_strip_touching`).
The band files are assembled by GDAL: a VRT mosaic of the bands (the XML below only lists where each band
goes), then GDAL's COG driver copies it into one Cloud-Optimized GeoTIFF.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import rasterio

from pgssl_core.infer.geotiff_out import copy_as_cog
from pgssl_core.infer.stitch import WindowLayout, first_strip_touching


@dataclass(frozen=True)
class StripBand:
    """A rank's share of a window layout: strips ``compute`` are predicted, rows ``rows`` (start, stop) kept."""

    compute: range
    rows: tuple[int, int]


def strip_bands(layout: WindowLayout, height: int, world_size: int) -> list[StripBand]:
    """Split the strips of ``layout`` (a raster of ``height`` px) into ``world_size`` contiguous bands of
    about equal strip counts, one per rank; ranks beyond the strip count get an empty band."""
    n = len(layout.row_starts)
    cuts = [round(r * n / world_size) for r in range(world_size + 1)]
    bands = []
    for first, stop in zip(cuts, cuts[1:]):
        if first == stop:
            bands.append(StripBand(range(0), (0, 0)))
            continue
        start_row = 0 if first == 0 else layout.row_starts[first]
        stop_row = height if stop == n else layout.row_starts[stop]
        bands.append(StripBand(range(first_strip_touching(layout, first), stop), (start_row, stop_row)))
    return bands


def row_bands(height: int, world_size: int, align: int) -> list[tuple[int, int]]:
    """``world_size`` contiguous row ranges (start, stop) of a ``height`` px raster, starts on multiples of
    ``align`` px (so block-wise work, e.g. GDAL warping ``align`` rows at a time, sees the same blocks as in
    one process); some may be empty."""
    cuts = [min(height, round(r * height / world_size / align) * align) for r in range(world_size)] + [height]
    return list(zip(cuts, cuts[1:]))


def _vrt_xml(parts: list[tuple[Path, int]], vrt_dir: Path) -> str:
    """A VRT mosaic of full-width band files stacked at their row offsets (same columns, CRS and dtype)."""
    with rasterio.open(parts[0][0]) as first:
        width, dtype, nodata = first.width, first.dtypes[0], first.nodata
        crs, tags, scale = first.crs, first.tags(), first.scales[0]
        description = first.descriptions[0]
        transform = first.transform @ rasterio.Affine.translation(0, -parts[0][1]) if not first.transform.is_identity \
            else None
    height = 0
    for path, row_off in parts:
        with rasterio.open(path) as band:
            height = max(height, row_off + band.height)
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    if crs is not None:
        ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="1,2").text = crs.to_wkt()
    if transform is not None:
        ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in transform.to_gdal())
    metadata = ET.SubElement(root, "Metadata")
    for key, value in tags.items():
        ET.SubElement(metadata, "MDI", key=key).text = value
    gdal_type = {"uint8": "Byte", "uint16": "UInt16", "float32": "Float32"}[dtype]
    band = ET.SubElement(root, "VRTRasterBand", dataType=gdal_type, band="1")
    if description:
        ET.SubElement(band, "Description").text = description
    if nodata is not None:
        ET.SubElement(band, "NoDataValue").text = repr(float(nodata))
    if scale not in (None, 1.0):
        ET.SubElement(band, "Scale").text = repr(scale)
    for path, row_off in parts:
        with rasterio.open(path) as part:
            rows = part.height
        source = ET.SubElement(band, "SimpleSource")
        ET.SubElement(source, "SourceFilename", relativeToVRT="1").text = os.path.relpath(path, vrt_dir)
        ET.SubElement(source, "SourceBand").text = "1"
        ET.SubElement(source, "SrcRect", xOff="0", yOff="0", xSize=str(width), ySize=str(rows))
        ET.SubElement(source, "DstRect", xOff="0", yOff=str(row_off), xSize=str(width), ySize=str(rows))
    return ET.tostring(root, encoding="unicode")


def write_band_vrt(parts: list[tuple[Path, int]], vrt_path: Path) -> Path:
    """Write the VRT of ``parts`` ``[(band GeoTIFF, row offset px)]`` (at least one) to ``vrt_path``."""
    vrt_path.write_text(_vrt_xml(sorted(parts, key=lambda p: p[1]), vrt_path.parent), encoding="utf-8")
    return vrt_path


def assemble_cog(parts: list[tuple[Path, int]], dst: Path, output: str) -> None:
    """Band files -> VRT -> one COG at ``dst`` (GDAL's COG driver does the copy; overviews as in ``--cog``).
    ``dst`` must be a temporary name: the caller moves it into place atomically."""
    vrt = write_band_vrt(parts, dst.with_name(dst.name + ".vrt"))
    try:
        copy_as_cog(vrt, dst, output)
    finally:
        vrt.unlink(missing_ok=True)
