"""CPU inference on ONNX Runtime (issue 22): the same probabilities and masks as PyTorch, a cached graph keyed by
the model file's hash (rebuilt when stale or damaged), and PyTorch with one notice where ONNX Runtime is missing."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.errors import PgsslError
from pgssl_core.infer import forward_probabilities, predict_tile
from pgssl_core.models import ModelConfig, create_model, load_model, save_model
from pgssl_core.models.logits import predict_logits
from pgssl_core.models.onnx_engine import (
    _SOURCES,
    ENGINE_ENV,
    SHA_KEY,
    EngineFallbackWarning,
    OnnxNetwork,
    active_engine,
    file_sha256,
    forget_source,
    graph_path,
    inherit_source,
    run_network,
    session_options,
)
from pgssl_core.shipped import ASSETS_DIR, BASE_MODEL_PATH
from pgssl_core.tiles import read_tile

#: One step of the 8-bit probability output (``round(p x 254)``, tiles/prediction_format.PROB_SCALE): the
#: issue's bound is "at most one step"; 1/255 is the tighter of the two readings.
ONE_STEP = 1 / 255
#: A small real U-Net (the factory's resnet18 encoder, 3 stages): exports in about a second.
SMALL = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Graphs of shipped models go to a cache folder of this test; no engine set from outside."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    return tmp_path / "cache"


def _save_small(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    save_model(path, create_model(SMALL), SMALL)
    return path


def _images(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _both(path: Path, images: np.ndarray) -> tuple[np.ndarray, np.ndarray, torch.nn.Module]:
    """Probabilities of the model file ``path`` on ONNX Runtime (auto) and on PyTorch, and the auto model."""
    fast, config, _ = load_model(path)
    slow, _, _ = load_model(path, engine="torch")
    got = forward_probabilities(fast, config, images)
    assert active_engine(fast) == "onnx"  # otherwise this compares PyTorch with itself
    return got, forward_probabilities(slow, config, images), fast


def test_base_model_agrees_with_pytorch_on_random_input():
    images = _images(2, 256)
    onnx_prob, torch_prob, _ = _both(BASE_MODEL_PATH, images)
    assert onnx_prob.shape == torch_prob.shape == (2, 256, 256)
    assert np.abs(onnx_prob - torch_prob).max() <= ONE_STEP
    np.testing.assert_array_equal(onnx_prob >= 0.5, torch_prob >= 0.5)


def test_base_model_agrees_with_pytorch_on_real_tiles():
    """The shipped OAM sample (real drone imagery of three zoom levels), through the blended windows of
    ``predict_tile``: probabilities within one 8-bit step, the same masks, and buildings found."""
    fast, config, _ = load_model(BASE_MODEL_PATH)
    slow, _, _ = load_model(BASE_MODEL_PATH, engine="torch")
    names = ["OAM-309612-261633-19.png", "OAM-619224-523266-20.png", "OAM-1238451-1046533-21.png"]
    building = 0
    for name in names:
        image = read_tile(ASSETS_DIR / "oam_sample" / "images" / name).image
        got = predict_tile(fast, config, image, tile=128, overlap=32)
        want = predict_tile(slow, config, image, tile=128, overlap=32)
        assert np.abs(got - want).max() <= ONE_STEP, name
        np.testing.assert_array_equal(got >= 0.5, want >= 0.5, err_msg=name)
        building += int((want >= 0.5).sum())
    assert active_engine(fast) == "onnx"
    assert building > 0  # the comparison covers building pixels, not only background


def test_evaluate_path_runs_on_onnx_and_agrees(tmp_path: Path):
    """``predict_logits`` (evaluate, measured models) takes the same engine, on a size that needs padding."""
    path = _save_small(tmp_path / "model.pt", seed=1)
    fast, config, _ = load_model(path)
    slow, _, _ = load_model(path, engine="torch")
    x = torch.randn(1, 3, 50, 70)
    got = predict_logits(fast, x, config.output_stride)
    want = predict_logits(slow, x, config.output_stride)
    assert active_engine(fast) == "onnx"
    assert got.shape == want.shape == (1, 2, 50, 70)
    assert float((got - want).abs().max()) < 1e-3


def test_graph_is_cached_beside_the_file_with_its_hash_and_threads(tmp_path: Path):
    path = _save_small(tmp_path / "model.pt", seed=1)
    _, _, model = _both(path, _images(1, 64))
    graph = tmp_path / "model.pt.onnx"
    assert graph_path(path, file_sha256(path)) == graph.resolve()
    assert graph.is_file()
    assert OnnxNetwork(graph, 1).metadata[SHA_KEY] == file_sha256(path)
    assert session_options(3).intra_op_num_threads == 3
    network = _SOURCES[model].network
    assert network is not None and network.threads == torch.get_num_threads()


def test_shipped_model_graph_goes_to_the_cache_folder(_own_cache: Path):
    _both(BASE_MODEL_PATH, _images(1, 64))
    assert (_own_cache / "pgssl" / "onnx" / f"{file_sha256(BASE_MODEL_PATH)}.onnx").is_file()
    assert not BASE_MODEL_PATH.with_name(BASE_MODEL_PATH.name + ".onnx").exists()


def test_cache_is_rebuilt_when_the_model_file_changes(tmp_path: Path):
    path = _save_small(tmp_path / "model.pt", seed=1)
    images = _images(1, 64)
    first, _, _ = _both(path, images)
    old_sha = file_sha256(path)
    _save_small(path, seed=2)  # new weights in the same file
    assert file_sha256(path) != old_sha
    second, torch_second, _ = _both(path, images)
    assert OnnxNetwork(tmp_path / "model.pt.onnx", 1).metadata[SHA_KEY] == file_sha256(path)
    assert np.abs(second - torch_second).max() <= ONE_STEP
    assert np.abs(second - first).max() > 10 * ONE_STEP  # the old graph would have given the old answer


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_cached_graph_is_rebuilt(tmp_path: Path, damage: str):
    path = _save_small(tmp_path / "model.pt", seed=1)
    images = _images(1, 64)
    _both(path, images)
    graph = tmp_path / "model.pt.onnx"
    data = graph.read_bytes()
    graph.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a graph" * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)  # rebuilt silently, not given up
        got, want, _ = _both(path, images)
    assert np.abs(got - want).max() <= ONE_STEP
    assert OnnxNetwork(graph, 1).metadata[SHA_KEY] == file_sha256(path)


def test_weights_changed_in_memory_are_exported_again_not_cached(tmp_path: Path):
    """BatchNorm statistics adapted after loading: the graph follows the weights, the file's graph stays."""
    path = _save_small(tmp_path / "model.pt", seed=1)
    images = _images(1, 64)
    _both(path, images)
    cached = (tmp_path / "model.pt.onnx").read_bytes()
    fast, config, _ = load_model(path)
    forward_probabilities(fast, config, images)
    bn = next(m for m in fast.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        bn.running_mean.add_(0.5)
    got = forward_probabilities(fast, config, images)
    assert active_engine(fast) == "onnx"
    forget_source(fast)  # the same module, now on PyTorch
    want = forward_probabilities(fast, config, images)
    assert np.abs(got - want).max() <= ONE_STEP
    assert (tmp_path / "model.pt.onnx").read_bytes() == cached


def test_missing_onnxruntime_falls_back_to_pytorch_with_one_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _save_small(tmp_path / "model.pt", seed=1)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    model, config, _ = load_model(path)
    images = _images(1, 64)
    with pytest.warns(EngineFallbackWarning, match="onnxruntime is not installed.*PyTorch") as record:
        got = forward_probabilities(model, config, images)
    assert len(record) == 1 and "\n" not in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EngineFallbackWarning)
        forward_probabilities(model, config, images)  # once per model, not once per batch
    slow, _, _ = load_model(path, engine="torch")
    np.testing.assert_array_equal(got, forward_probabilities(slow, config, images))
    assert active_engine(model) == "torch"
    assert not (tmp_path / "model.pt.onnx").exists()


def test_onnx_asked_for_by_name_is_an_error_where_it_cannot_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _save_small(tmp_path / "model.pt", seed=1)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    model, config, _ = load_model(path, engine="onnx")
    with pytest.raises(PgsslError, match="ONNX engine cannot run model.pt: onnxruntime is not installed"):
        forward_probabilities(model, config, _images(1, 64))


def test_engine_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = _save_small(tmp_path / "model.pt", seed=1)
    monkeypatch.setenv(ENGINE_ENV, "torch")
    model, config, _ = load_model(path)
    forward_probabilities(model, config, _images(1, 64))
    assert active_engine(model) == "torch" and not (tmp_path / "model.pt.onnx").exists()
    monkeypatch.setenv(ENGINE_ENV, "tensorrt")
    with pytest.raises(PgsslError, match=f"unknown {ENGINE_ENV}=tensorrt; choose one of auto, onnx, torch"):
        load_model(path)


def test_networks_not_from_a_file_and_training_stay_on_pytorch(tmp_path: Path):
    path = _save_small(tmp_path / "model.pt", seed=1)
    model, config, _ = load_model(path)
    x = torch.randn(1, 3, 32, 32)
    with torch.enable_grad():
        out = run_network(model, x)
    assert out.requires_grad and active_engine(model) == "torch"
    fresh = create_model(SMALL).eval()
    forward_probabilities(fresh, SMALL, _images(1, 32))
    assert active_engine(fresh) == "torch"


def test_a_copy_inherits_the_engine_of_its_original(tmp_path: Path):
    """``adapt_bn`` returns a copy with new BatchNorm statistics: with ``inherit_source`` it runs on ONNX
    Runtime too, from its own graph."""
    import copy

    path = _save_small(tmp_path / "model.pt", seed=1)
    model, config, _ = load_model(path)
    adapted = copy.deepcopy(model)
    with torch.no_grad():
        next(m for m in adapted.modules() if isinstance(m, torch.nn.BatchNorm2d)).running_var.mul_(2.0)
    inherit_source(adapted, model)
    images = _images(1, 64)
    got = forward_probabilities(adapted, config, images)
    assert active_engine(adapted) == "onnx"
    forget_source(adapted)
    assert np.abs(got - forward_probabilities(adapted, config, images)).max() <= ONE_STEP


def test_cli_engine_flag(tmp_path: Path, write_raster, capsys: pytest.CaptureFixture[str]):
    """``predict --engine torch`` never builds a graph, the default does, an unknown engine is one line."""
    from pgssl_core.cli import main
    from tests.infer.conftest import random_image

    path = _save_small(tmp_path / "model.pt", seed=1)
    tif = write_raster(tmp_path / "in.tif", random_image(64, 64))
    args = ["predict", "--model", str(path), "--input", str(tif), "--gsd", "native"]
    assert main([*args, "--out", str(tmp_path / "a"), "--engine", "torch"]) == 0
    assert not (tmp_path / "model.pt.onnx").exists()
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "model.pt.onnx").is_file()
    assert (tmp_path / "a" / "in_probability.tif").read_bytes() != b""
    assert main([*args, "--out", str(tmp_path / "c"), "--engine", "tensorrt"]) == 2
    assert "unknown engine 'tensorrt'; choose one of auto, onnx, torch" in capsys.readouterr().err
