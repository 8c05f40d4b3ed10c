"""Where the shipped assets are found: the checkout's top-level ``assets/``, or ``pgssl_core/assets`` in a wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

import pgssl_core.shipped as shipped

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_finds_the_top_level_assets_folder() -> None:
    assert not (REPO_ROOT / "pgssl_core" / "assets").exists()  # moved, not copied
    assert shipped.ASSETS_DIR == REPO_ROOT / "assets"
    assert shipped.BASE_MODEL_PATH.is_file() and (shipped.ASSETS_DIR / "beijing_districts.geojson").is_file()


def test_an_installed_wheel_finds_the_folder_inside_the_package(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "assets").mkdir()  # where setup.py puts the folder in a wheel: site-packages/pgssl_core/assets
    monkeypatch.setattr(shipped, "files", lambda _package: tmp_path)
    assert shipped._assets_dir() == tmp_path / "assets"
