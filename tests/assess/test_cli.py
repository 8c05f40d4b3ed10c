"""CLI: predict (rasters -> probability GeoTIFFs + footprints) then assess (districts CSV + grid)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from pgssl_core.cli import main
from pgssl_core.models import ModelConfig, create_model, save_model


def _raster(path, x0, y0, seed):
    rng = np.random.default_rng(seed)
    img = np.repeat(np.repeat(rng.integers(0, 256, (3, 12, 12), dtype=np.uint8), 16, 1), 16, 2)
    with rasterio.open(path, "w", driver="GTiff", width=192, height=192, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(x0, y0, 0.5, 0.5)) as ds:
        ds.write(img)


@pytest.fixture
def workspace(tmp_path):
    cfg = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 8))
    save_model(tmp_path / "model.pt", create_model(cfg), cfg)
    (tmp_path / "in").mkdir()
    _raster(tmp_path / "in" / "dongcheng.tif", 448_000.0, 4_420_000.0, 1)  # central Beijing
    _raster(tmp_path / "in" / "far_away.tif", 600_000.0, 4_000_000.0, 2)  # ~36 N, outside Beijing
    return tmp_path


def test_predict_then_assess(workspace, capsys):
    w = workspace
    rc = main(["predict", "--model", str(w / "model.pt"), "--input", str(w / "in"), "--out", str(w / "pred"),
               "--polygons", str(w / "fp.gpkg"), "--tile", "128", "--overlap", "32", "--threshold", "0.3"])
    assert rc == 0
    outs = sorted(p.name for p in (w / "pred").iterdir())
    assert outs == ["dongcheng_probability.tif", "far_away_probability.tif"]
    fp = gpd.read_file(w / "fp.gpkg")
    assert fp.crs.to_epsg() == 4326 and {"area_m2", "tile"} <= set(fp.columns)

    rc = main(["assess", "--masks", str(w / "pred"), "--districts", "beijing", "--out", str(w / "d.csv"),
               "--grid-out", str(w / "grid.gpkg"), "--threshold", "0.3", "--tilt", "25"])
    err = capsys.readouterr().err
    assert rc == 0
    table = pd.read_csv(w / "d.csv")
    assert len(table) == 16
    imaged = table[table["status"] != "no imagery"]
    assert len(imaged) >= 1 and table.loc[table["status"] == "no imagery", "capacity_mwp"].isna().all()
    assert "far_away_probability" in err and "outside every district" in pd.read_csv(
        w / "d_outside_tiles.csv")["status"].iloc[0]
    grid = gpd.read_file(w / "grid.gpkg")
    assert len(grid) > 0 and grid["coverage"].between(0, 1).all()


def test_clear_errors(workspace, tmp_path, capsys):
    w = workspace
    assert main(["predict", "--model", str(w / "nope.pt"), "--input", str(w / "in"), "--out", str(w / "o")]) == 2
    assert "model file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.geojson"
    bad.write_text("garbage")
    (w / "pred").mkdir()
    _raster(w / "pred" / "x.tif", 448_000.0, 4_420_000.0, 3)  # a raw image is also a readable "mask" input
    assert main(["assess", "--masks", str(w / "pred"), "--districts", str(bad), "--out", str(w / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read boundary file bad.geojson") and err.count("\n") == 1  # one line
    far = w / "far"
    far.mkdir()
    _raster(far / "y.tif", 600_000.0, 4_000_000.0, 4)
    assert main(["assess", "--masks", str(far), "--out", str(w / "d.csv")]) == 2
    assert "none of the 1 tiles overlaps any of the 16 districts" in capsys.readouterr().err


def test_assess_from_a_buildings_file(tmp_path, capsys):
    from shapely.geometry import box

    # Two buildings in central Beijing (lon/lat), 0.0002 deg ~ 17 m x 22 m each.
    fp = gpd.GeoDataFrame(geometry=[box(116.40, 39.92, 116.4002, 39.9202), box(116.36, 39.91, 116.3602, 39.9102)],
                          crs=4326)
    fp.to_file(tmp_path / "b.gpkg")
    rc = main(["assess", "--buildings", str(tmp_path / "b.gpkg"), "--out", str(tmp_path / "d.csv")])
    assert rc == 0
    table = pd.read_csv(tmp_path / "d.csv")
    assert (table["status"] == "imaged extent unknown").all()
    assert table["building_count"].sum() == 2
    assert main(["assess", "--buildings", str(tmp_path / "b.gpkg"), "--out", str(tmp_path / "d.csv"),
                 "--grid-out", str(tmp_path / "g.gpkg")]) == 2
    assert "--grid-out needs the imaged extent" in capsys.readouterr().err
