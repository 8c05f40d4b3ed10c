"""Model factory and model files."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pgssl_core.errors import ModelFileError
from pgssl_core.models import ModelConfig, create_model, images_to_tensor, load_model, save_model

TINY = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))


def test_model_shapes_and_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = create_model(TINY).eval()
    x = images_to_tensor(np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3), dtype=np.uint8),
                         TINY.mean, TINY.std)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 2, 32, 32)
    save_model(tmp_path / "m.pt", model, TINY, {"method": "test"})
    loaded, cfg, meta = load_model(tmp_path / "m.pt")
    assert cfg == TINY and meta == {"method": "test"}
    with torch.no_grad():
        assert torch.allclose(loaded(x), y)


def test_images_to_tensor_normalises_per_band() -> None:
    img = np.full((4, 4, 3), 255, np.uint8)
    t = images_to_tensor(img, (0.5, 0.5, 0.5), (0.5, 0.25, 1.0))
    assert t.shape == (1, 3, 4, 4)
    assert torch.allclose(t[0, :, 0, 0], torch.tensor([1.0, 2.0, 0.5]))


def test_untrusted_pickle_is_refused(tmp_path: Path) -> None:
    """weights_only=True: a file whose unpickling would run code is rejected, not executed."""
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (Path.touch, (marker,))

    torch.save({"format": "pgssl-model/1", "payload": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "evil.pt")
    assert not marker.exists()


def test_not_a_model_file(tmp_path: Path) -> None:
    (tmp_path / "x.pt").write_text("hello")
    with pytest.raises(ModelFileError, match="x.pt is not a pgssl model file"):
        load_model(tmp_path / "x.pt")
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.pt")
