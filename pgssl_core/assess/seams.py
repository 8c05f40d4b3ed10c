"""Buildings across tile seams and overlaps are one building.

Tiles cut buildings: a roof on the edge between two tiles comes out of each tile as a part, and a
roof inside the overlap of two tiles comes out twice. ``merge_across_tiles`` joins the raw outlines
(before simplification) of different tiles that share an edge or overlap, so footprints, counts,
density and district sums do not depend on how the area was cut into tiles. Outlines of the same
tile are never joined here: within a tile, 4-connected pixels already decide what is one building.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pgssl_core.assess.metric_crs import zone_crs, zone_key

#: Gap (deg, about 1 cm) below which outlines of neighbouring tiles count as touching: edges that
#: should coincide differ by rounding after reprojection, or by a fraction of a pixel between CRSs.
SEAM_TOLERANCE_DEG: float = 1e-7
#: Buffer (m) that closes such gaps while joining; taken off again afterwards (mitred joins keep
#: right angles exactly).
SEAM_CLOSE_M: float = 0.01


def _linked_pairs(geoms: np.ndarray, tiles: np.ndarray) -> np.ndarray:
    """(2, n) pairs of outlines from different tiles that share an edge or overlap (not just a corner)."""
    tree = shapely.STRtree(geoms)
    pairs = tree.query(geoms, predicate="dwithin", distance=SEAM_TOLERANCE_DEG)
    pairs = pairs[:, (pairs[0] < pairs[1]) & (tiles[pairs[0]] != tiles[pairs[1]])]
    if pairs.shape[1] == 0:
        return pairs
    # A shared edge of one pixel leaves an overlap of the buffered outline of about tolerance x
    # pixel size; a shared corner only about tolerance squared: keep the edges, drop the corners.
    near = shapely.intersection(shapely.buffer(geoms[pairs[0]], SEAM_TOLERANCE_DEG, join_style="mitre"),
                                geoms[pairs[1]])
    return pairs[:, shapely.area(near) > 4 * SEAM_TOLERANCE_DEG**2]


def merge_across_tiles(outlines: gpd.GeoDataFrame, tile_column: str = "tile") -> gpd.GeoDataFrame:
    """Join outlines of different tiles that share an edge or overlap; returns WGS84 outlines.

    ``outlines``: raw building outlines (any CRS) with a ``tile_column`` (other columns are dropped:
    they do not survive a join). A joined outline's tile is
    the names of its tiles joined with ``+``. Joining happens in the equal-area CRS of the group's
    zone, with a ``SEAM_CLOSE_M`` buffer that closes rounding gaps and is removed again.
    """
    wgs = outlines.to_crs(4326).reset_index(drop=True)
    if len(wgs) < 2:
        return wgs
    geoms = wgs.geometry.to_numpy()
    tiles = wgs[tile_column].astype(str).to_numpy()
    pairs = _linked_pairs(geoms, tiles)
    if pairs.shape[1] == 0:
        return wgs
    n = len(wgs)
    graph = coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    rows_geom, rows_tile = [], []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) == 1:
            rows_geom.append(geoms[members[0]])
            rows_tile.append(tiles[members[0]])
            continue
        centre = shapely.union_all(geoms[members]).representative_point()
        metric = zone_crs(zone_key(centre.x, centre.y))
        part = gpd.GeoSeries(geoms[members], crs=4326).to_crs(metric)
        grown = shapely.union_all(shapely.buffer(part.to_numpy(), SEAM_CLOSE_M, join_style="mitre"))
        joined = shapely.buffer(grown, -SEAM_CLOSE_M, join_style="mitre")
        for piece in gpd.GeoSeries([joined], crs=metric).to_crs(4326).explode(index_parts=False):
            rows_geom.append(piece)
            rows_tile.append("+".join(dict.fromkeys(tiles[members])))
    return gpd.GeoDataFrame({tile_column: rows_tile}, geometry=rows_geom, crs=4326)
