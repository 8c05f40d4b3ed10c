"""Tiles of a drawn rectangle (issue 21, "Predict" of part of a project): which tiles a WGS84 box meets."""

from __future__ import annotations

import pytest
from pyproj import Transformer

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.project.predict_area import check_bbox, tile_outlines, tiles_bbox, tiles_in_bbox
from tests.project.conftest import ORIGIN, SIZE

TILE_M = SIZE * 0.5  # the small project's tiles: 64 px of 0.5 m, 200 m apart eastwards
TO_WGS84 = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)


def _box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """The WGS84 (west, south, east, north) of a UTM 50N rectangle (its corners' extremes)."""
    return TO_WGS84.transform_bounds(x0, y0, x1, y1, densify_pts=21)


def _tile(i: int, pad_m: float = 0.0) -> tuple[float, float, float, float]:
    left, top = ORIGIN[0] + 200.0 * i, ORIGIN[1]
    return _box(left - pad_m, top - TILE_M - pad_m, left + TILE_M + pad_m, top + pad_m)


def _names(project: Project, bbox) -> list[str]:
    return [r.original_name for r in tiles_in_bbox(project, bbox)]


def test_a_box_picks_the_tiles_it_shares_area_with(small_project: Project) -> None:
    assert _names(small_project, _tile(1)) == ["tile1.tif"]
    assert _names(small_project, _tile(1, pad_m=-10.0)) == ["tile1.tif"]  # inside the tile only
    # from the middle of tile 0 to the middle of tile 1: both, in catalog order; tile 2 and the plain image not
    left, top = ORIGIN
    assert _names(small_project, _box(left + 16, top - 16, left + 216, top - 8)) == ["tile0.tif", "tile1.tif"]
    assert _names(small_project, _tile(0, pad_m=500.0)) == ["tile0.tif", "tile1.tif", "tile2.tif"]


def test_a_box_beside_a_tile_picks_nothing(small_project: Project) -> None:
    left, top = ORIGIN[0] + 200.0, ORIGIN[1]
    beside = _box(left + TILE_M + 1.0, top - TILE_M, left + TILE_M + 50.0, top)  # 1 m east of tile 1: the gap
    assert _names(small_project, beside) == []
    overlapping = _box(left + TILE_M - 1.0, top - TILE_M, left + TILE_M + 50.0, top)  # 1 m into tile 1
    assert _names(small_project, overlapping) == ["tile1.tif"]
    assert _names(small_project, (0.0, 0.0, 1.0, 1.0)) == []  # far away


@pytest.mark.parametrize("bbox", [(1.0, 0.0, 1.0, 1.0), (2.0, 0.0, 1.0, 1.0), (0.0, 1.0, 1.0, 0.5),
                                  (170.0, 0.0, 190.0, 1.0), (0.0, -91.0, 1.0, 0.0), (float("nan"), 0, 1, 1),
                                  (0.0, 1.0), ("west", 0, 1, 1)])
def test_an_area_without_extent_or_outside_the_globe_is_refused(bbox) -> None:
    with pytest.raises(PgsslError):
        check_bbox(bbox)


def test_tiles_bbox_surrounds_the_georeferenced_tiles(small_project: Project) -> None:
    records = small_project.tiles()
    west, south, east, north = tiles_bbox(records)
    first, last = _tile(0), _tile(2)
    assert west == pytest.approx(first[0], abs=1e-9) and east == pytest.approx(last[2], abs=1e-9)
    assert south == pytest.approx(min(first[1], last[1]), abs=1e-9)
    assert north == pytest.approx(max(first[3], last[3]), abs=1e-9)
    assert tiles_bbox([r for r in records if not r.georeferenced]) is None


def test_tile_outlines_are_the_tiles_in_wgs84(small_project: Project) -> None:
    records = small_project.tiles()
    outlines = tile_outlines(records)
    assert list(outlines) == [r.id for r in records if r.georeferenced]
    # the outline's bounds are those of the tile's corners carried to lon/lat (a UTM rectangle, nearly one there)
    for i, outline in enumerate(outlines.values()):
        assert outline.bounds == pytest.approx(_tile(i), abs=1e-9)
