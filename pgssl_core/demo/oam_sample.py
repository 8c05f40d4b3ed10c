"""Deterministic choice of a small real sample from the shared OpenAerialMap building tiles.

The shared data set (``../shared/data/oam_buildings``) groups every z19 ground spot with its four
z20 and sixteen z21 children under one ``split``. The sample keeps that grouping: whole ground spots
are chosen (so a spot's tiles never straddle splits), a few per (area, split), and from each spot
the z19 tile plus one z20 and two z21 children, so every area and zoom level is represented.
Ranks come from SHA-1 hashes of the names, which makes the choice independent of file order.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd

from pgssl_core.demo.districts import ASSETS_DIR
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write, atomic_write_bytes

OAM_SAMPLE_DIR: Path = ASSETS_DIR / "oam_sample"
MANIFEST_COLUMNS = ["file", "area", "zoom", "x", "y", "parent_z19", "split", "building_frac"]

# Ground spots taken per split; capped by what each area has. 4 tiles per spot.
SPOTS_PER_SPLIT = {"train": 2, "val": 1, "test": 1}
CHILDREN_PER_ZOOM = {19: 1, 20: 1, 21: 2}

CREDITS = """\
# OpenAerialMap sample (real imagery)

{n} real 256x256 aerial tiles with building masks, a deterministic subset of the `oam_buildings`
data set (areas: {areas}; zoom levels 19/20/21, about 0.30/0.15/0.075 m per pixel).

- `images/OAM-<x>-<y>-<z>.png`: RGB(A) PNG; the name is the XYZ (slippy map, Web Mercator EPSG:3857)
  tile address, which georeferences the tile.
- `masks/<same name>.png`: uint8, 0 = background, 255 = building.
- `manifest.csv`: file, area, zoom, x, y, parent_z19, split, building_frac (same columns as the full
  set). Each z19 ground spot keeps its split, so no ground area is shared between train/val/test.

Chosen by `scripts/build_oam_sample.py` (`pgssl_core/demo/oam_sample.py`): per area and split a few
ground spots ranked by SHA-1 of their id; per spot the z19 tile, one z20 and two z21 children.

Credits and licences (keep these lines with the files):
- Imagery © OpenAerialMap contributors, CC BY 4.0
- Building polygons and masks derived from them: © OpenStreetMap contributors, ODbL 1.0
- Collected in hotosm/fAIr-utilities, ramp-data/TRAIN/HOTOSM/2, commit 61f1515
"""


def _rank(key: str) -> str:
    """A stable pseudo-random sort key for ``key`` (hex SHA-1)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def choose_oam_sample(manifest: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``manifest`` (full data set) to copy, sorted by file name.

    Within a spot, children with buildings are preferred (the demo should show roofs), ties broken
    by hash rank.
    """
    missing = set(MANIFEST_COLUMNS) - set(manifest.columns)
    if missing:
        raise PgsslError(f"OAM manifest lacks columns {sorted(missing)}")
    chosen: list[pd.DataFrame] = []
    spots = manifest.groupby("parent_z19", sort=True).agg(area=("area", "first"), split=("split", "first"))
    spots["rank"] = [_rank(s) for s in spots.index]
    for (_, split), group in spots.groupby(["area", "split"], sort=True):
        for spot in group.sort_values("rank").index[: SPOTS_PER_SPLIT.get(split, 0)]:
            tiles = manifest[manifest["parent_z19"] == spot].copy()
            tiles["has_b"] = tiles["building_frac"] > 0
            tiles["rank"] = [_rank(f) for f in tiles["file"]]
            for zoom, count in CHILDREN_PER_ZOOM.items():
                at_zoom = tiles[tiles["zoom"] == zoom].sort_values(["has_b", "rank"], ascending=[False, True])
                chosen.append(at_zoom.head(count))
    out = pd.concat(chosen)[MANIFEST_COLUMNS].sort_values("file").reset_index(drop=True)
    return out


def build_oam_sample(source_dir: Path, out_dir: Path = OAM_SAMPLE_DIR) -> pd.DataFrame:
    """Copy the chosen tiles and masks from ``source_dir`` into ``out_dir``; write manifest and README.

    Re-runnable: files no longer chosen are removed from ``out_dir/images`` and ``out_dir/masks``.
    Returns the sample manifest.
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    if not (source_dir / "manifest.csv").is_file():
        raise PgsslError(f"no manifest.csv in {source_dir}: point --source at the oam_buildings folder")
    sample = choose_oam_sample(pd.read_csv(source_dir / "manifest.csv"))
    for sub in ("images", "masks"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
        wanted = set(sample["file"])
        for stale in (out_dir / sub).glob("*.png"):
            if stale.name not in wanted:
                stale.unlink()
        for name in sample["file"]:
            with atomic_write(out_dir / sub / name, "wb") as dst, open(source_dir / sub / name, "rb") as src:
                shutil.copyfileobj(src, dst)
    atomic_write_bytes(out_dir / "manifest.csv", sample.to_csv(index=False, lineterminator="\n").encode())
    readme = CREDITS.format(n=len(sample), areas=", ".join(sorted(sample["area"].unique())))
    atomic_write_bytes(out_dir / "README.md", readme.encode("utf-8"))
    return sample


def read_oam_sample_manifest(sample_dir: Path = OAM_SAMPLE_DIR) -> pd.DataFrame:
    """The shipped sample's manifest (columns ``MANIFEST_COLUMNS``)."""
    path = Path(sample_dir) / "manifest.csv"
    if not path.is_file():
        raise PgsslError(f"OAM sample manifest {path} is missing: run `python scripts/build_oam_sample.py`")
    return pd.read_csv(path)
