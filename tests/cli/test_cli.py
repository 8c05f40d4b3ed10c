"""The CLI framework: discovery, lazy loading, one-line errors."""

import subprocess
import sys
from pathlib import Path

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
