"""The SYNTHETIC Beijing scene generator: determinism, exact masks, plausibility, placement."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely

from pgssl_core.demo.scene import SYNTHETIC_LABEL, SceneTile, generate_beijing_scene, pick_sites, render_site


def test_same_seed_same_bytes(scene_tiles: list[SceneTile], districts: gpd.GeoDataFrame) -> None:
    again = list(generate_beijing_scene(tiles_per_district=1, seed=0, districts=districts))
    first = [t for t in scene_tiles if t.site.index == 0]
    # Also: more tiles per district does not change the first tiles.
    assert [t.site for t in again] == [t.site for t in first]
    for a, b in zip(again, first, strict=True):
        assert a.image.tobytes() == b.image.tobytes() and a.mask.tobytes() == b.mask.tobytes()


def test_other_seed_differs(scene_tiles: list[SceneTile]) -> None:
    site = scene_tiles[0].site
    assert render_site(site, seed=1).image.tobytes() != scene_tiles[0].image.tobytes()


def test_shapes_and_exact_masks(scene_tiles: list[SceneTile]) -> None:
    assert len(scene_tiles) == 32
    for t in scene_tiles:
        assert t.image.shape == (256, 256, 3) and t.image.dtype == np.uint8
        assert t.mask.shape == (256, 256) and t.mask.dtype == np.uint8
        assert set(np.unique(t.mask)) <= {0, 1}
        assert t.meta["synthetic"] is True and t.meta["label"] == SYNTHETIC_LABEL
        assert t.crs.to_epsg() == 32650 and t.transform.a == 0.4 and t.transform.e == -0.4
    assert sum(t.mask.any() for t in scene_tiles) >= 28  # nearly every tile has buildings


def test_roofs_differ_from_background_but_not_by_colour_alone(scene_tiles: list[SceneTile]) -> None:
    # A colour-only classifier (RGB histogram, 512 bins) fitted on the index-0 tiles and applied to
    # the index-1 tiles finds roofs far better than chance, yet far from perfectly: shape, shadows
    # and context are needed, which is what the demo is for.
    def bins(img: np.ndarray) -> np.ndarray:
        return (img // 32).astype(np.int64) @ np.array([64, 8, 1])

    roof_hist, bg_hist = np.zeros(512), np.zeros(512)
    for t in (t for t in scene_tiles if t.site.index == 0):
        b = bins(t.image)
        roof_hist += np.bincount(b[t.mask == 1], minlength=512)
        bg_hist += np.bincount(b[t.mask == 0], minlength=512)
    says_roof = roof_hist > bg_hist
    inter = union = 0
    for t in (t for t in scene_tiles if t.site.index == 1):
        pred, truth = says_roof[bins(t.image)], t.mask == 1
        inter += int((pred & truth).sum())
        union += int((pred | truth).sum())
    iou = inter / union
    assert 0.1 < iou < 0.7, iou


def test_shadows_fall_away_from_sun(scene_tiles: list[SceneTile]) -> None:
    # Sun from the south-south-west: the ground just north-east of roofs is darker than south-west.
    ne, sw = [], []
    for t in scene_tiles:
        m = t.mask.astype(bool)
        grey = t.image.astype(np.float32).mean(-1)
        north_east = np.roll(np.roll(m, -4, axis=0), 4, axis=1) & ~m  # 4 px up-right of a roof
        south_west = np.roll(np.roll(m, 4, axis=0), -4, axis=1) & ~m
        if north_east.sum() > 50 and south_west.sum() > 50:
            ne.append(grey[north_east].mean())
            sw.append(grey[south_west].mean())
    assert np.mean(ne) < 0.8 * np.mean(sw)


def test_density_gradient(scene_tiles: list[SceneTile]) -> None:
    frac: dict[str, list[float]] = {}
    for t in scene_tiles:
        frac.setdefault(t.site.name_pinyin, []).append(float(t.mask.mean()))
    mean = {k: np.mean(v) for k, v in frac.items()}
    assert mean["Dongcheng"] > mean["Yanqing"] * 2
    assert mean["Xicheng"] > mean["Miyun"] and mean["Chaoyang"] > mean["Huairou"]
    core = np.mean([mean[k] for k in ("Dongcheng", "Xicheng")])
    outer = np.mean([mean[k] for k in ("Huairou", "Miyun", "Yanqing")])
    assert core > 0.2 and outer < 0.12


def test_tiles_inside_their_district(scene_tiles: list[SceneTile], districts: gpd.GeoDataFrame) -> None:
    utm = districts.to_crs(32650).set_index("adcode")
    boxes = {}
    for t in scene_tiles:
        left, top = t.transform @ (0, 0)
        right, bottom = t.transform @ (256, 256)
        box = shapely.box(left, bottom, right, top)
        assert utm.geometry.loc[t.site.adcode].contains(box), t.site.name
        boxes.setdefault(t.site.adcode, []).append(box)
    for same in boxes.values():  # tiles of one district never overlap
        assert not same[0].intersects(same[1])


def test_geotiffs_georeferenced_and_tagged(scene_geotiffs: list[tuple[Path, Path]],
                                           districts: gpd.GeoDataFrame) -> None:
    assert len(scene_geotiffs) == 16
    image_path, mask_path = scene_geotiffs[0]  # Dongcheng
    with rasterio.open(image_path) as src:
        assert src.count == 3 and src.crs.to_epsg() == 32650
        assert src.tags()["SYNTHETIC"] == "yes"
        lon, lat = gpd.GeoSeries([shapely.Point(*src.xy(128, 128))], crs=32650).to_crs(4326).iloc[0].coords[0]
    dongcheng = districts.set_index("adcode").geometry.loc[110101]
    assert dongcheng.contains(shapely.Point(lon, lat))
    with rasterio.open(mask_path) as src:
        assert set(np.unique(src.read(1))) <= {0, 1}


def test_pick_sites_count_and_seed(districts: gpd.GeoDataFrame) -> None:
    a = pick_sites(districts, tiles_per_district=3, seed=5)
    b = pick_sites(districts, tiles_per_district=3, seed=5)
    c = pick_sites(districts, tiles_per_district=3, seed=6)
    assert len(a) == 48 and a == b and a != c
