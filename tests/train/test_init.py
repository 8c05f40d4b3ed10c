"""Where a run starts: the shipped base model (default), scratch, or a model file (``--init``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.models import load_model
from pgssl_core.models.init_model import BASE_MODEL_PATH, model_or_base, resolve_init
from pgssl_core.train import run_training
from pgssl_core.train.rounds import model_config

REPO = Path(__file__).resolve().parents[2]


def _init_record(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())["init"]


def test_scratch_run_records_its_start(tmp_path, tiny_data, make_config) -> None:
    cfg = make_config("supervised")
    cfg.init = "scratch"
    run_training(tiny_data, cfg, tmp_path / "r")
    assert _init_record(tmp_path / "r")["kind"] == "scratch"


def test_run_from_a_model_file_starts_from_its_weights(tmp_path, tiny_data, make_config) -> None:
    first = make_config("supervised")
    first.init = "scratch"
    run_training(tiny_data, first, tmp_path / "a")
    second = make_config("supervised", supervised_steps=1, eval_every=1)
    second.init = str(tmp_path / "a" / "model.pt")
    result = run_training(tiny_data, second, tmp_path / "b")
    record = _init_record(tmp_path / "b")
    assert record["kind"] == "file" and record["path"] == second.init
    # The first validation is of the starting weights themselves (step 0): identical to the file's model.
    assert result.history[0]["step"] == 0
    start, _, _ = load_model(second.init)
    from pgssl_core.train.data import TensorSet
    from pgssl_core.train.metrics import evaluate_tensors

    figures = evaluate_tensors(start, load_model(second.init)[1], TensorSet.from_samples(tiny_data.val),
                               torch.device("cpu"))
    assert result.history[0]["iou"] == pytest.approx(figures["iou"])


def test_band_mismatch_falls_back_to_scratch_with_a_message(tmp_path, make_data, make_config) -> None:
    three = make_config("supervised")
    three.init = "scratch"
    run_training(make_data(bands=3), three, tmp_path / "rgb")
    init = resolve_init(str(tmp_path / "rgb" / "model.pt"), bands=4)
    assert init.kind == "scratch" and init.model is None
    assert "takes 3 bands, the tiles have 4" in init.message
    cfg = make_config("supervised")
    cfg.init = str(tmp_path / "rgb" / "model.pt")
    run_training(make_data(bands=4), cfg, tmp_path / "four")
    record = _init_record(tmp_path / "four")
    assert record["kind"] == "scratch" and "started from scratch" in record["message"]


def test_missing_init_file_is_a_one_line_error(tmp_path, tiny_data, make_config) -> None:
    from pgssl_core.errors import ModelFileError

    cfg = make_config("supervised")
    cfg.init = str(tmp_path / "nope.pt")
    with pytest.raises(ModelFileError, match="not found"):
        run_training(tiny_data, cfg, tmp_path / "r")


def test_base_is_the_default_and_keeps_the_base_network(tmp_path, tiny_data, make_config) -> None:
    cfg = make_config("pgssl")
    assert cfg.init == "base"
    result = run_training(tiny_data, cfg, tmp_path / "r")
    assert _init_record(tmp_path / "r")["kind"] == "base"
    _, config, _ = load_model(result.model_path)
    _, base_config, _ = load_model(BASE_MODEL_PATH)
    assert (config.encoder, config.encoder_depth, config.decoder_channels) == \
        (base_config.encoder, base_config.encoder_depth, base_config.decoder_channels)


def test_zero_label_start_offers_the_base_model(tmp_path) -> None:
    choice = model_or_base(None)
    assert choice is not None and choice.is_base and "base building model" in choice.label
    assert "come from other imagery" in choice.label  # a planner must not read its figures as theirs (issue 23)
    own = tmp_path / "m.pt"
    own.write_bytes(b"x")
    assert model_or_base(own).is_base is False


def test_model_config_of_a_started_run_follows_the_start_model() -> None:
    from pgssl_core.train import get_profile

    init = resolve_init("base", bands=3)
    cfg = model_config(get_profile("test"), 3, 0.3, init)
    assert cfg.encoder == init.config.encoder and cfg.gsd_m == 0.3


@pytest.mark.parametrize("init", ["base", "scratch", "PATH"])
def test_cli_init_choices_run_with_the_test_profile(tmp_path, tile_folders, init) -> None:
    images, masks = tile_folders
    if init == "PATH":
        init = str(BASE_MODEL_PATH)  # any pgssl model file; the shipped one is at hand
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "train", "--images", str(images), "--masks", str(masks),
                           "--label-fraction", "0.5", "--profile", "test", "--method", "supervised", "--init", init,
                           "--device", "cpu", "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    record = _init_record(out)
    assert record["kind"] == {"base": "base", "scratch": "scratch"}.get(init, "file")
    assert json.loads((out / "config.json").read_text())["gsd_m"] == 0.3


def test_load_folder_resamples_tiles_to_the_working_gsd(tile_folders) -> None:
    from pgssl_core.train.data import load_folder

    images, masks = tile_folders  # 48 px tiles at 0.3 m
    native = load_folder(images, masks)
    coarse = load_folder(images, masks, working_gsd_m=0.6)
    assert native[0]["image"].shape == (48, 48, 3) and coarse[0]["image"].shape == (24, 24, 3)
    assert coarse[0]["mask"].shape == (24, 24) and coarse[0]["gsd_m"] == 0.6
    # A building keeps its share of the tile (area-weighted majority of the label pixels).
    share = [float((s["mask"] == 1).mean()) for s in native]
    share_coarse = [float((s["mask"] == 1).mean()) for s in coarse]
    assert np.allclose(share, share_coarse, atol=0.05)


def test_bad_init_leaves_no_run_folder_and_a_folder_is_named(tmp_path, tiny_data, make_config) -> None:
    from pgssl_core.errors import ModelFileError

    cfg = make_config("supervised")
    cfg.init = str(tmp_path)  # a folder
    with pytest.raises(ModelFileError, match="is a folder, not a model file"):
        run_training(tiny_data, cfg, tmp_path / "r")
    assert not (tmp_path / "r").exists()
    junk = tmp_path / "notes.pt"
    junk.write_text("file,area\n")
    cfg.init = str(junk)
    with pytest.raises(ModelFileError, match="not a pgssl model file") as info:
        run_training(tiny_data, cfg, tmp_path / "r")
    assert "weights_only" not in str(info.value) and not (tmp_path / "r").exists()


@pytest.mark.parametrize("value", ["0", "-2", "1e9", "nan", "abc"])
def test_stated_tile_gsd_is_checked_in_one_line(tmp_path, tile_folders, value) -> None:
    images, masks = tile_folders
    proc = subprocess.run([sys.executable, "-m", "pgssl_core", "evaluate", "--model", str(BASE_MODEL_PATH),
                           "--images", str(images), "--masks", str(masks), "--tile-gsd", value],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: --tile-gsd"), proc.stderr[-500:]
    assert len(proc.stderr.strip().splitlines()) == 1
