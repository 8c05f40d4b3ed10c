"""The two demo projects the app offers on first start.

- ``beijing-demo``: "Beijing demo (synthetic imagery)", the SYNTHETIC scene (``scene``) with exact
  reference masks, grouped by district (pinyin), split ~70/15/15 within each district.
- ``oam-sample``: "Real sample (OpenAerialMap)", the real tiles in ``assets/oam_sample`` with their
  OpenStreetMap-derived masks, split as in the manifest, grouped by area.

A project is built in a hidden sibling folder and renamed into place only when complete, with a
``demo.json`` marker inside: an interrupted build never leaves a half project behind, and calling
again on a finished project just opens it (idempotent).
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pgssl_core.catalog import Project
from pgssl_core.demo.oam_sample import OAM_SAMPLE_DIR, read_oam_sample_manifest
from pgssl_core.demo.scene import SYNTHETIC_LABEL, SceneTile, pick_sites, render_site
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_json
from pgssl_core.tiles import Tile, TileMeta, read_tile

BEIJING_NAME = "Beijing demo (synthetic imagery)"
BEIJING_SLUG = "beijing-demo"
OAM_NAME = "Real sample (OpenAerialMap)"
OAM_SLUG = "oam-sample"
MARKER = "demo.json"

OAM_CREDITS = (
    "Imagery © OpenAerialMap contributors, CC BY 4.0; building polygons and masks derived from them: "
    "© OpenStreetMap contributors, ODbL 1.0"
)

Progress = Callable[[int, int], None]


def split_for_index(index: int, count: int) -> str:
    """Deterministic split of the ``index``-th of ``count`` tiles in a district (~70/15/15).

    The last ~15% go to test and the ~15% before them to val; with 3 or more tiles each split gets
    at least one.
    """
    n_test = max(1, round(0.15 * count)) if count >= 3 else 0
    n_val = max(1, round(0.15 * count)) if count >= 2 else 0
    if index >= count - n_test:
        return "test"
    if index >= count - n_test - n_val:
        return "val"
    return "train"


def read_demo_marker(root: Path) -> dict[str, Any] | None:
    """The ``demo.json`` marker of a finished demo project, or None."""
    path = Path(root) / MARKER
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _build_in_place(root: Path, name: str, description: str, marker: dict[str, Any],
                    fill: Callable[[Project], int]) -> Project:
    """Create the project in a temp sibling, let ``fill`` add tiles, write the marker, rename."""
    root = Path(root)
    if read_demo_marker(root) is not None:
        return Project.open_or_create(root, name)
    if root.exists() and any(root.iterdir()):
        raise PgsslError(f"{root} exists and is not a finished demo project: choose another folder or remove it")
    root.parent.mkdir(parents=True, exist_ok=True)
    # A hidden sibling (same file system, so the final rename is atomic); mkdir honours the umask.
    tmp = root.parent / f".{root.name}.{secrets.token_hex(4)}.building"
    tmp.mkdir()
    try:
        project = Project.create(tmp, name, description)
        try:
            n_tiles = fill(project)
        finally:
            project.close()  # release SQLite before the folder is renamed
        atomic_write_json(tmp / MARKER, {**marker, "name": name, "n_tiles": n_tiles})
        try:
            if root.exists():
                root.rmdir()  # empty (checked above) unless a concurrent builder just finished
            tmp.rename(root)
        except OSError:
            if read_demo_marker(root) is None:
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process won the race: use its project
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Project.open(root)


def scene_tile_to_tile(scene_tile: SceneTile) -> Tile:
    """Wrap a synthetic scene tile as a catalog ``Tile`` (all pixels valid, UTM 50N)."""
    h, w = scene_tile.mask.shape
    meta = TileMeta(width=w, height=h, bands=3, dtype="uint8", driver="GTiff", nodata=None,
                    source_name=f"SYNTHETIC-{scene_tile.site.name}.tif")
    return Tile(image=scene_tile.image, valid=np.ones((h, w), dtype=bool), transform=scene_tile.transform,
                crs=scene_tile.crs, meta=meta)


def create_beijing_demo_project(root: Path, tiles_per_district: int = 4, seed: int = 0,
                                progress: Progress | None = None) -> Project:
    """Create (or open, if already there) the SYNTHETIC Beijing demo project at ``root``.

    16 x ``tiles_per_district`` tiles; ``progress(done, total)`` is called after each tile.
    """
    description = (
        f"{SYNTHETIC_LABEL}. Generated tiles at sample sites in Beijing's 16 districts "
        "(UTM 50N, 0.4 m/px) with exact building masks; the imagery is NOT real."
    )
    marker = {"kind": "beijing_demo", "synthetic": True, "label": SYNTHETIC_LABEL,
              "tiles_per_district": tiles_per_district, "seed": seed}

    def fill(project: Project) -> int:
        sites = pick_sites(None, tiles_per_district, seed)
        for done, site in enumerate(sites, start=1):
            st = render_site(site, seed)
            project.add_tile(scene_tile_to_tile(st), f"SYNTHETIC-{site.name}.tif",
                             reference_mask=st.mask.astype(bool), group=site.name_pinyin,
                             split=split_for_index(site.index, tiles_per_district), source=st.meta)
            if progress is not None:
                progress(done, len(sites))
        return len(sites)

    return _build_in_place(root, BEIJING_NAME, description, marker, fill)


def _read_mask(path: Path) -> np.ndarray:
    """A 0/255 mask PNG as (H, W) bool (first band if it has several)."""
    with Image.open(path) as im:
        arr = np.asarray(im)
    return (arr[..., 0] if arr.ndim == 3 else arr) > 0


def create_oam_sample_project(root: Path, progress: Progress | None = None,
                              sample_dir: Path = OAM_SAMPLE_DIR) -> Project:
    """Create (or open) the real OpenAerialMap sample project at ``root`` from ``assets/oam_sample``."""
    manifest = read_oam_sample_manifest(sample_dir)
    description = f"Real aerial tiles with building masks (Zanzibar, Nairobi, Kampala, Catanduanes). {OAM_CREDITS}."
    marker = {"kind": "oam_sample", "synthetic": False}

    def fill(project: Project) -> int:
        for done, row in enumerate(manifest.itertuples(index=False), start=1):
            tile = read_tile(Path(sample_dir) / "images" / row.file)  # XYZ name -> georeferenced
            project.add_tile(tile, row.file, reference_mask=_read_mask(Path(sample_dir) / "masks" / row.file),
                             group=row.area, split=row.split, source={"synthetic": False, "credits": OAM_CREDITS})
            if progress is not None:
                progress(done, len(manifest))
        return len(manifest)

    return _build_in_place(root, OAM_NAME, description, marker, fill)


def ensure_default_projects(projects_dir: Path) -> list[Path]:
    """Create both demo projects under ``projects_dir/<slug>/`` unless present; returns their folders."""
    projects_dir = Path(projects_dir)
    beijing, oam = projects_dir / BEIJING_SLUG, projects_dir / OAM_SLUG
    create_beijing_demo_project(beijing)
    create_oam_sample_project(oam)
    return [beijing, oam]
