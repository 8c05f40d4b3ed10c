"""The base model adapted to a project's tiles (BatchNorm statistics only), cached in the project folder, and
crops of rasters at the working GSD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.models import load_model
from pgssl_core.models.adapt_bn import batchnorm_layers
from pgssl_core.project.adapted_model import (
    ADAPTED_LABEL,
    MODELS_DIR,
    adapted_base_model,
    adapted_model_path,
    is_adapted_base,
    raster_crops,
)
from pgssl_core.tiles import Tile, TileMeta, write_tile_geotiff
from tests.project.conftest import UTM50, make_tile


def _bn_keys(model: torch.nn.Module) -> set[str]:
    return {f"{name}.{leaf}" for name, _ in batchnorm_layers(model)
            for leaf in ("running_mean", "running_var", "num_batches_tracked")}


def test_adapted_base_model_is_made_once_per_tile_set(small_project: Project, tiny_model_file: Path) -> None:
    messages: list[str] = []
    path = adapted_base_model(small_project, tiny_model_file, progress=messages.append)
    assert path.is_file() and path.parent == small_project.root / MODELS_DIR and is_adapted_base(path)
    assert messages and "4 tiles" in messages[0]
    base, config, _ = load_model(tiny_model_file)
    adapted, adapted_config, meta = load_model(path)
    assert adapted_config == config
    assert meta["name"] == ADAPTED_LABEL and meta["adaptation"]["labels_used"] == 0
    assert meta["adaptation"]["tiles"] == 4
    bn = _bn_keys(base)
    old, new = base.state_dict(), adapted.state_dict()
    assert {k for k in old if not torch.equal(old[k], new[k])} <= bn  # nothing else changed
    assert any(not torch.equal(old[k], new[k]) for k in bn if k.endswith("running_mean"))
    # the same tiles: the same file, not made again
    mtime = path.stat().st_mtime_ns
    messages.clear()
    assert adapted_base_model(small_project, tiny_model_file, progress=messages.append) == path
    assert path.stat().st_mtime_ns == mtime and not messages
    # a new tile: a new file, the old one removed
    small_project.add_tile(make_tile(7), "tile7.tif")
    again = adapted_base_model(small_project, tiny_model_file)
    assert again != path and again.is_file() and not path.exists()
    assert adapted_model_path(small_project, tiny_model_file) == again
    assert not is_adapted_base(tiny_model_file)


def test_a_project_without_tiles_is_a_clear_error(tmp_path: Path, tiny_model_file: Path) -> None:
    with Project.create(tmp_path / "empty", "Empty") as project, \
            pytest.raises(PgsslError, match="no tiles to adapt"):
        adapted_base_model(project, tiny_model_file)


def test_raster_crops_read_the_working_grid_and_skip_nodata(tmp_path: Path, tiny_model_file: Path) -> None:
    _, config, _ = load_model(tiny_model_file)
    config.gsd_m = 1.0  # a working GSD twice as coarse as the 0.5 m tiles: a 64 px tile is seen as 32 px
    tile = make_tile(1)
    path = tmp_path / "a.tif"
    write_tile_geotiff(path, tile)
    crops = raster_crops([path], config, "model", crop=256, max_crops=8)
    assert [c.shape for c in crops] == [(32, 32, 3)]  # one crop covers the whole tile once
    native = raster_crops([path], config, None, crop=32, max_crops=8)
    assert [c.shape for c in native] == [(32, 32, 3)] * 4  # 64 px at native resolution: four 32 px crops
    # a tile imaged on its left half only: no crop from the blank half
    valid = np.zeros((64, 64), bool)
    valid[:, :32] = True
    half = Tile(tile.image, valid, tile.transform, UTM50, TileMeta(64, 64, 3, "uint8", "GTiff", None, "h.tif"))
    write_tile_geotiff(tmp_path / "h.tif", half)
    kept = raster_crops([tmp_path / "h.tif"], config, None, crop=32, max_crops=8)
    assert len(kept) == 2 and all(np.array_equal(c, tile.image[r:r + 32, :32]) for c, r in zip(kept, (0, 32)))
    with pytest.raises(PgsslError, match="no tiles"):
        raster_crops([], config)


@pytest.mark.parametrize(("working", "expected"), [(0.6, 0.6), (0.2, 0.3), (None, 0.3)])
def test_adapted_model_works_at_a_coarser_project_gsd(small_project: Project, tiny_model_file: Path, tmp_path: Path,
                                                      working: float | None, expected: float) -> None:
    """Coarse imagery: the adapted base model reads the project's tiles at its coarser working GSD and records
    it, so prediction and pre-fill with the file work there; a finer (or native) setting keeps the model's."""
    from pgssl_core.catalog.gsd_settings import GsdSettings, set_project_gsd
    from pgssl_core.models import save_model

    model, config, meta = load_model(tiny_model_file)
    config.gsd_m = 0.3
    base = tmp_path / "base_03.pt"
    save_model(base, model, config, meta)
    set_project_gsd(small_project, GsdSettings(working))
    path = adapted_base_model(small_project, base)
    _, adapted_config, adapted_meta = load_model(path)
    assert adapted_config.gsd_m == pytest.approx(expected) == adapted_meta["adaptation"]["gsd_m"]
    set_project_gsd(small_project, GsdSettings(0.9 if working != 0.9 else 0.8))
    assert adapted_model_path(small_project, base) != path  # another working GSD: another adapted model
