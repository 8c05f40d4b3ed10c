"""The CLI framework: discovery, lazy loading, one-line errors."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgssl_core", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_help_lists_every_command() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for name in ("inspect", "import", "demo"):
        assert name in out.stdout


def test_inspect_does_not_import_torch(tmp_path: Path) -> None:
    """Only the named command's module is loaded, so a quick command stays quick."""
    bad = tmp_path / "x.png"
    bad.write_text("hello")
    code = ("import sys; from pgssl_core.cli import main; rc = main(['inspect', %r]); "
            "print('torch' in sys.modules); sys.exit(rc)" % str(bad))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stdout.strip() == "False"
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1


@pytest.mark.parametrize("device, message", [("banana", "unknown device 'banana'"),
                                             ("cuda", "no CUDA GPU is visible")])
def test_predict_with_a_bad_device_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], device: str,
                                               message: str) -> None:
    # Found by a fresh-eyes QA run: both used to end in a PyTorch traceback.
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("a GPU is visible here")
    from pgssl_core.cli import main
    from pgssl_core.models.init_model import BASE_MODEL_PATH
    from pgssl_core.shipped import ASSETS_DIR

    image = next((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))
    code = main(["predict", "--model", str(BASE_MODEL_PATH), "--input", str(image),
                 "--out", str(tmp_path / "out"), "--device", device])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: ") and message in err[-1]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
