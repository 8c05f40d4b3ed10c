"""Footprints of a prediction (in one process or over torchrun's ranks), joined across raster and band seams.

Under ``predict --polygons`` (alone or under torchrun), every rank outlines what it wrote (whole rasters, and its row
bands of the banded ones) with :func:`pgssl_core.assess.inputs.raw_outlines`, passed to
:func:`pgssl_core.infer.pipeline.predict_rasters` as its ``outline`` step; rank 0 then joins the outlines
here with the tile-seam rule (:func:`pgssl_core.assess.seams.merge_across_tiles`). The join lives above
both stages because it needs the footprint code of ``assess`` and the band names of ``infer``.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from pgssl_core.assess.inputs import merged_footprints
from pgssl_core.infer.sharded import BAND_MARK, RankReport


def joined_footprints(reports: list[RankReport], min_area_m2: float, simplify_m: float,
                      regularize: bool) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Footprints of every rank's outlines joined across band (and tile) seams, and the imaged extents.

    Args:
        reports: every rank's report (``predict_rasters``'s result), with outlines and extents collected.
        min_area_m2: footprints smaller than this (m²) are dropped.
        simplify_m: simplification tolerance (m).
        regularize: square the outlines to right angles (:mod:`pgssl_core.assess.regularize`).

    Returns:
        ``(footprints, extents)`` in WGS84: a footprint's ``tile`` names its rasters joined by ``+`` (the
        bands of one raster count as that raster); one extent row per raster.
    """
    outlines = [o for r in reports for o in r.outlines]
    footprints = merged_footprints(outlines, min_area_m2, simplify_m, regularize)
    footprints["tile"] = ["+".join(dict.fromkeys(t.split(BAND_MARK)[0] for t in name.split("+")))
                          for name in footprints["tile"].astype(str)]
    extents = gpd.GeoDataFrame(pd.concat([e for r in reports for e in r.extents], ignore_index=True), crs=4326)
    extents["tile"] = extents["tile"].astype(str).str.split(BAND_MARK).str[0]
    return footprints, extents.dissolve(by="tile", as_index=False)
