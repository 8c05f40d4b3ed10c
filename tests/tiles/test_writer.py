"""write_tile_geotiff: round trip, layout, and atomicity."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from pgssl_core.tiles import Tile, TileMeta, iter_raster_tiles, read_tile, write_tile_geotiff
from pgssl_core.tiles import writer as writer_module

from .conftest import ORIGIN_TRANSFORM, UTM50N


def _tile(georeferenced: bool = True) -> Tile:
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (300, 280, 3), dtype=np.uint8)
    valid = np.ones((300, 280), bool)
    valid[:, :30] = False
    image[~valid] = 0
    meta = TileMeta(width=280, height=300, bands=3, dtype="uint8", driver="PNG", nodata=None, source_name="x.png")
    return Tile(image=image, valid=valid, transform=ORIGIN_TRANSFORM if georeferenced else None,
                crs=UTM50N if georeferenced else None, meta=meta)


def test_round_trip_georeferenced(tmp_path):
    tile = _tile()
    path = tmp_path / "out" / "tile.tif"
    write_tile_geotiff(path, tile)
    back = read_tile(path)
    np.testing.assert_array_equal(back.image, tile.image)
    np.testing.assert_array_equal(back.valid, tile.valid)
    assert back.transform == tile.transform and back.crs == tile.crs
    with rasterio.open(path) as ds:
        assert ds.profile["tiled"] and ds.compression.name.lower() == "deflate"
        assert ds.count == 3 and ds.dtypes == ("uint8",) * 3
        assert not any(p.name.endswith(".msk") for p in path.parent.iterdir())  # mask is internal


def test_round_trip_without_georeferencing(tmp_path):
    path = tmp_path / "plain.tif"
    write_tile_geotiff(path, _tile(georeferenced=False))
    back = read_tile(path)
    assert not back.georeferenced and back.transform is None and back.crs is None
    np.testing.assert_array_equal(back.valid, _tile().valid)


def test_all_valid_tile_has_no_invalid_pixels_after_round_trip(tmp_path, rgb_tif):
    tile = read_tile(rgb_tif)
    path = tmp_path / "copy.tif"
    write_tile_geotiff(path, tile)
    back = read_tile(path)
    assert back.valid.all()
    np.testing.assert_array_equal(back.image, tile.image)


def test_failed_write_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "tile.tif"
    write_tile_geotiff(path, _tile())
    before = path.read_bytes()

    real_open = rasterio.open

    def failing_open(fp, mode="r", **kw):
        dataset = real_open(fp, mode, **kw)
        if mode == "w":
            dataset.close()
            raise OSError("disk full")
        return dataset

    monkeypatch.setattr(writer_module.rasterio, "open", failing_open)
    with pytest.raises(OSError, match="disk full"):
        write_tile_geotiff(path, _tile(georeferenced=False))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tile.tif"]


def test_split_tiles_round_trip_with_window_transforms(tmp_path, make_geotiff):
    rng = np.random.default_rng(2)
    source = make_geotiff(rng.integers(1, 256, (3, 96, 160), dtype=np.uint8))
    for (row, col), tile in iter_raster_tiles(source, tile_size=64):
        out = tmp_path / f"t_{row}_{col}.tif"
        write_tile_geotiff(out, tile)
        back = read_tile(out)
        assert back.bounds == pytest.approx(tile.bounds)
        assert back.transform.c == pytest.approx(ORIGIN_TRANSFORM.c + 0.5 * col)
        np.testing.assert_array_equal(back.image, tile.image)
