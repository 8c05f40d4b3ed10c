"""The shipped real sample under assets/oam_sample: size, pairs, splits, credits, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from pgssl_core.demo.oam_sample import MANIFEST_COLUMNS, OAM_SAMPLE_DIR, build_oam_sample, choose_oam_sample


def test_sample_pairs_and_manifest() -> None:
    manifest = pd.read_csv(OAM_SAMPLE_DIR / "manifest.csv")
    assert list(manifest.columns) == MANIFEST_COLUMNS
    assert 40 <= len(manifest) <= 80
    images = sorted(p.name for p in (OAM_SAMPLE_DIR / "images").glob("*.png"))
    masks = sorted(p.name for p in (OAM_SAMPLE_DIR / "masks").glob("*.png"))
    assert images == masks == sorted(manifest["file"])
    mask = np.asarray(Image.open(OAM_SAMPLE_DIR / "masks" / images[0]))
    assert set(np.unique(mask)) <= {0, 255}


def test_sample_mixes_areas_zooms_splits() -> None:
    m = pd.read_csv(OAM_SAMPLE_DIR / "manifest.csv")
    assert m["area"].nunique() == 4
    assert set(m["zoom"]) == {19, 20, 21}
    assert set(m["split"]) == {"train", "val", "test"}
    assert (m.groupby("parent_z19")["split"].nunique() == 1).all()  # a ground spot keeps one split
    assert (m["building_frac"] > 0).mean() > 0.5


def test_sample_keeps_source_split(oam_dir: Path) -> None:
    full = pd.read_csv(oam_dir / "manifest.csv").set_index("file")
    sample = pd.read_csv(OAM_SAMPLE_DIR / "manifest.csv").set_index("file")
    assert (full.loc[sample.index, "split"] == sample["split"]).all()
    assert choose_oam_sample(full.reset_index())["file"].tolist() == sample.index.tolist()  # deterministic


def test_credits_present() -> None:
    text = (OAM_SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "Imagery © OpenAerialMap contributors, CC BY 4.0" in text
    assert "© OpenStreetMap contributors, ODbL 1.0" in text
    assert "61f1515" in text


def test_build_copies_identical_files(oam_dir: Path, tmp_path: Path) -> None:
    sample = build_oam_sample(oam_dir, tmp_path)
    name = sample["file"].iloc[0]
    assert (tmp_path / "images" / name).read_bytes() == (oam_dir / "images" / name).read_bytes()
    assert (tmp_path / "manifest.csv").read_bytes() == (OAM_SAMPLE_DIR / "manifest.csv").read_bytes()
