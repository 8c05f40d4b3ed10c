"""Issue 11, items 3 and 4: buildings across seams and overlaps count once; areas and cells fit each place."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

from pgssl_core.assess import footprints_and_extents
from pgssl_core.assess.density import density_grid
from pgssl_core.assess.footprints import clean_footprints
from pgssl_core.catalog import Project
from pgssl_core.project.predict import read_layers, reference_footprints, write_mask_geotiff
from pgssl_core.tiles import iter_raster_tiles
from pgssl_core.tiles.georef import xyz_transform

GEOD = Geod(ellps="WGS84")
UTM50 = "EPSG:32650"


def true_m2(geom_wgs84) -> float:
    return abs(GEOD.geometry_area_perimeter(geom_wgs84)[0])


def _mask_tif(path, mask, transform, crs=UTM50):
    write_mask_geotiff(path, mask, np.ones(mask.shape, bool), transform, crs)
    return path


def _whole_and_halves(tmp_path, res=0.5, x0=448_000.0, y0=4_420_000.0):
    """A 100 x 200 px mask with a 20 x 20 px building across column 100, whole and cut at column 100."""
    mask = np.zeros((100, 200), np.uint8)
    mask[40:60, 90:110] = 1
    whole = _mask_tif(tmp_path / "whole.tif", mask, from_origin(x0, y0, res, res))
    left = _mask_tif(tmp_path / "left.tif", mask[:, :100], from_origin(x0, y0, res, res))
    right = _mask_tif(tmp_path / "right.tif", mask[:, 100:], from_origin(x0 + 100 * res, y0, res, res))
    return whole, left, right


def test_building_across_a_tile_seam_is_one_building_with_its_whole_area(tmp_path):
    # The example: 2 adjacent 100 x 100 px tiles, a 20 x 20 px building on the shared edge.
    whole, left, right = _whole_and_halves(tmp_path)
    one, _ = footprints_and_extents([whole])
    cut, _ = footprints_and_extents([str(left), right])  # str paths work as Paths do
    assert len(one) == 1 and len(cut) == 1
    assert cut["area_m2"].iloc[0] == pytest.approx(one["area_m2"].iloc[0], rel=1e-6)
    assert cut["area_m2"].iloc[0] == pytest.approx(400 * 0.25, rel=2e-3)  # 400 px of 0.25 m2 (UTM scale 0.9996)
    assert cut["tile"].iloc[0] == "left+right"


def test_overlapping_tiles_count_a_building_once_in_footprints_and_density(tmp_path):
    mask = np.zeros((100, 150), np.uint8)
    mask[30:50, 60:80] = 1  # inside the 50 px overlap of the two tiles below
    t = from_origin(448_000.0, 4_420_000.0, 0.5, 0.5)
    a = _mask_tif(tmp_path / "a.tif", mask[:, :100], t)
    b = _mask_tif(tmp_path / "b.tif", mask[:, 50:], from_origin(448_025.0, 4_420_000.0, 0.5, 0.5))
    single = _mask_tif(tmp_path / "single.tif", mask, t)
    fp, imaged = footprints_and_extents([a, b])
    fp1, imaged1 = footprints_and_extents([single])
    assert len(fp) == 1 and fp["area_m2"].iloc[0] == pytest.approx(fp1["area_m2"].iloc[0], rel=1e-6)
    grid, grid1 = density_grid(fp, imaged), density_grid(fp1, imaged1)
    assert grid["building_m2"].sum() == pytest.approx(grid1["building_m2"].sum(), rel=1e-6)
    assert grid["imaged_m2"].sum() == pytest.approx(grid1["imaged_m2"].sum(), rel=1e-6)
    # a copy of a footprint (the same building from two tiles, merged elsewhere) still counts once
    doubled = gpd.GeoDataFrame(pd_concat([fp1, fp1]), crs=4326)
    assert density_grid(doubled, imaged1)["building_m2"].sum() == pytest.approx(grid1["building_m2"].sum(), rel=1e-6)


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


def test_adjacent_xyz_tiles_join_a_building(tmp_path):
    z, x, y = 19, 431_636, 198_647  # two neighbouring zoom-19 tiles in Beijing (EPSG:3857)
    mask = np.zeros((256, 512), np.uint8)
    mask[100:140, 236:276] = 1
    a = _mask_tif(tmp_path / "a.tif", mask[:, :256], xyz_transform(z, x, y, 256, 256), "EPSG:3857")
    b = _mask_tif(tmp_path / "b.tif", mask[:, 256:], xyz_transform(z, x + 1, y, 256, 256), "EPSG:3857")
    fp, _ = footprints_and_extents([a, b])
    assert len(fp) == 1
    assert fp["area_m2"].iloc[0] == pytest.approx(true_m2(fp.geometry.iloc[0]), rel=1e-4)


def test_buildings_touching_only_at_a_corner_stay_two(tmp_path):
    mask = np.zeros((100, 200), np.uint8)
    mask[20:40, 80:100] = 1  # left tile, ends at the seam
    mask[40:60, 100:120] = 1  # right tile, starts at the seam one row lower: corners touch
    t = from_origin(448_000.0, 4_420_000.0, 0.5, 0.5)
    left = _mask_tif(tmp_path / "l.tif", mask[:, :100], t)
    right = _mask_tif(tmp_path / "r.tif", mask[:, 100:], from_origin(448_050.0, 4_420_000.0, 0.5, 0.5))
    fp, _ = footprints_and_extents([left, right])
    assert len(fp) == 2


def test_raster_split_on_upload_gives_the_same_buildings_as_whole(tmp_path):
    from tests.tiles.conftest import write_geotiff

    mask = np.zeros((100, 200), np.uint8)
    mask[40:60, 90:110] = 1
    mask[10:20, 10:30] = 1
    image = np.full((3, 100, 200), 120, np.uint8)
    src = write_geotiff(tmp_path / "scene.tif", image, crs=UTM50,
                        transform=from_origin(448_000.0, 4_420_000.0, 0.5, 0.5))
    with Project.create(tmp_path / "proj", "seams") as project:
        for (row, col), tile in iter_raster_tiles(src, tile_size=100):
            project.add_tile(tile, f"scene_{col}.tif", reference_mask=mask[row:row + tile.height, col:col + tile.width])
        footprints, _ = read_layers(reference_footprints(project, tmp_path / "maps"))
    assert len(footprints) == 2
    assert sorted(footprints["area_m2"].round(0)) == [50.0, 100.0]


def _utm_square(lon, lat, res=0.5):
    """Transform (``res`` m pixels, corner on whole 100 m) and CRS of a tile in the UTM zone of lon/lat."""
    zone = int((lon + 180) // 6) + 1
    crs = f"EPSG:{32600 + zone}"
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    return from_origin(round(x, -2), round(y, -2), res, res), crs


def test_tiles_in_two_utm_zones_get_100_m_cells_and_true_areas(tmp_path):
    # The example: tiles near 117 E and 123 E; one UTM zone for both gave 96.7-98.8 m cells.
    paths = []
    for name, lon in (("west", 117.2), ("east", 122.8)):
        transform, crs = _utm_square(lon, 40.0)
        mask = np.zeros((800, 800), np.uint8)  # 400 m tiles: several full 100 m cells each
        mask[100:140, 100:140] = 1  # 20 x 20 m in the tile's own UTM grid
        paths.append(_mask_tif(tmp_path / f"{name}.tif", mask, transform, crs))
    fp, imaged = footprints_and_extents(paths)
    for geom, area in zip(fp.geometry, fp["area_m2"]):
        assert area == pytest.approx(true_m2(geom), rel=1e-5)
    grid = density_grid(fp, imaged)
    assert grid["imaged_m2"].sum() == pytest.approx(sum(true_m2(g) for g in imaged.geometry), rel=1e-6)
    full = grid[grid["imaged_m2"] > 9_999.0]
    assert len(full) >= 8
    for cell in full.geometry:
        xs, ys = cell.exterior.coords.xy
        sides = [GEOD.inv(xs[i], ys[i], xs[i + 1], ys[i + 1])[2] for i in range(4)]
        assert all(abs(s - 100.0) < 0.1 for s in sides)  # 100 m wide everywhere, not 96.7-98.8 m
        assert true_m2(cell) == pytest.approx(10_000.0, rel=1e-5)


def test_high_latitude_beyond_utm_has_true_areas_and_cells(tmp_path):
    crs = "EPSG:3413"  # NSIDC polar stereographic north, used for Arctic imagery; 86.5 N is beyond UTM
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(-40.0, 86.5)
    mask = np.zeros((400, 400), np.uint8)
    mask[100:160, 100:140] = 1
    path = _mask_tif(tmp_path / "arctic.tif", mask, from_origin(round(x, -2), round(y, -2), 0.5, 0.5), crs)
    fp, imaged = footprints_and_extents([path])
    assert len(fp) == 1 and fp["area_m2"].iloc[0] == pytest.approx(true_m2(fp.geometry.iloc[0]), rel=1e-5)
    grid = density_grid(fp, imaged)
    assert grid["imaged_m2"].sum() == pytest.approx(true_m2(imaged.geometry.iloc[0]), rel=1e-6)
    assert grid["building_m2"].sum() == pytest.approx(fp["area_m2"].sum(), rel=1e-3)
    full = grid[grid["imaged_m2"] > 9_999.0]
    for cell in full.geometry:
        xs, ys = cell.exterior.coords.xy
        assert all(abs(GEOD.inv(xs[i], ys[i], xs[i + 1], ys[i + 1])[2] - 100.0) < 0.1 for i in range(4))


def test_clean_footprints_measures_each_building_in_its_own_zone():
    squares = []
    for lon, lat in ((117.0, 40.0), (123.0, 40.0), (10.0, -34.0), (20.0, 78.0)):
        transform, crs = _utm_square(lon, lat)
        square = gpd.GeoSeries.from_wkt([f"POLYGON(({transform.c} {transform.f}, {transform.c + 30} {transform.f}, "
                                         f"{transform.c + 30} {transform.f - 30}, {transform.c} {transform.f - 30}, "
                                         f"{transform.c} {transform.f}))"], crs=crs)
        squares.append(square.to_crs(4326).iloc[0])
    out = clean_footprints(gpd.GeoSeries(squares, crs=4326), simplify_m=0)
    for geom, area in zip(out.geometry, out["area_m2"]):
        assert area == pytest.approx(true_m2(geom), rel=1e-5)
