"""Zero-label adaptation on real inputs: crops of rasters or of a project's tiles at the model's working GSD,
and the base model adapted to a project's tiles, cached in the project folder.

The adaptation itself (BatchNorm statistics re-estimated, nothing learnt; see
:mod:`pgssl_core.models.adapt_bn`) needs only images; this module reads them as prediction reads them
(:mod:`pgssl_core.infer.working_grid`: each source resampled to the working GSD by GDAL's warper), which
joins the ``tiles``/``infer`` reading with the ``models`` step, so it sits in ``project``.

- :func:`raster_crops` / :func:`adapt_to_rasters`: the CLI's ``predict --adapt-bn`` (adapt on the inputs
  being predicted).
- :func:`adapted_base_model`: before a project has a trained model, the Label page's pre-fill and the Map
  page's "Predict all tiles" use the shipped base model adapted to the project's tiles. The file
  ``models/base_adapted_<key>.pt`` in the project folder is keyed by the base model's content hash, the
  project's tile set and its stated tile GSD, so it is made once per tile set (a few seconds) and again only
  when tiles are added or removed; older ones are removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.infer.raster import TileSource
from pgssl_core.infer.working_grid import ResampledSource, WindowSource, target_gsd, working_grid
from pgssl_core.models import ModelConfig, load_model, save_model
from pgssl_core.models.adapt_bn import (
    ADAPT_ALPHA,
    BATCH_CROPS,
    CROP_PX,
    MAX_CROPS,
    MIN_VALID_SHARE,
    adapt_batchnorm,
    adaptation_batches,
)
from pgssl_core.models.init_model import ModelChoice, model_or_base
from pgssl_core.shipped import BASE_MODEL_PATH
from pgssl_core.tiles import open_raster, read_tile
from pgssl_core.tiles.formats import GEOTIFF_SUFFIXES

#: Folder of the project holding the adapted base model.
MODELS_DIR = "models"
#: File name prefix of the adapted base model (``base_adapted_<key>.pt``).
ADAPTED_PREFIX = "base_adapted_"
#: What the adapted base model is (its model file's ``meta["name"]``).
ADAPTED_LABEL = "base model, adapted to your tiles (BatchNorm statistics only, no labels)"
#: What the app says when it uses the adapted base model ("Using ..." / "Predictions use ...").
ADAPTED_CHOICE_LABEL = ("the base building model, adapted to your tiles (BatchNorm statistics only, no labels; "
                        "label and train to fit it to them)")
#: Crops the app adapts the base model on (of the project's tiles, at the model's working GSD).
PROJECT_CROPS: int = MAX_CROPS
#: Tries to find a crop with enough valid pixels before the draw is given up.
_TRIES = 8


@contextlib.contextmanager
def _open(path: Path) -> Iterator[WindowSource]:
    """A GeoTIFF opened for windowed reads, or another image read whole (as ``predict`` reads them)."""
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        with open_raster(path) as source:
            yield source
    else:
        yield TileSource(read_tile(path))


def _seen(source: WindowSource, config: ModelConfig, gsd_m: float | str | None, stated_gsd_m: float | None,
          name: str) -> WindowSource:
    """``source`` as the network sees it: on its working grid when it is resampled."""
    with warnings.catch_warnings():  # prediction itself warns about the GSD of each input, once
        warnings.simplefilter("ignore")
        grid = working_grid(source, target_gsd(gsd_m, config.gsd_m), stated_gsd_m, name)
    return source if grid is None else ResampledSource(source, grid)


def raster_crops(paths: Sequence[str | os.PathLike[str]], config: ModelConfig, gsd_m: float | str | None = "model",
                 stated_gsd_m: float | None = None, crop: int = CROP_PX, max_crops: int = MAX_CROPS,
                 seed: int = 0) -> list[np.ndarray]:
    """Up to ``max_crops`` seeded random crops (uint8 (h, w, 3)) of the rasters at ``paths``, at the working GSD
    (``"model"``: ``config.gsd_m``; None: native), read as ``predict_raster`` reads them.

    At most ``max_crops`` of the inputs are opened (a seeded draw when there are more); each crop picks one of
    them in proportion to its area on the working grid. A crop is ``crop`` px square, or the largest size in
    multiples of the network stride that fits a small input; a crop with less than ``MIN_VALID_SHARE`` of
    imaged pixels is drawn again (a few tries). When the inputs hold no more than ``max_crops``
    non-overlapping crops, each is tiled instead (every pixel once).

    Raises:
        PgsslError: no input, or no crop of imaged pixels in any of them.
    """
    files = [Path(p) for p in paths]
    if not files:
        raise PgsslError("no tiles to adapt the model to: give at least one image")
    rng = np.random.default_rng(seed)
    if len(files) > max_crops:
        files = [files[i] for i in sorted(rng.choice(len(files), size=max_crops, replace=False).tolist())]
    multiple = config.output_stride
    sizes = []
    for path in files:
        with _open(path) as source:
            seen = _seen(source, config, gsd_m, stated_gsd_m, path.name)
            sizes.append((seen.height, seen.width))
    shapes = [(min(crop, h // multiple * multiple), min(crop, w // multiple * multiple)) for h, w in sizes]
    fits = [(h // ch) * (w // cw) if ch and cw else 0 for (h, w), (ch, cw) in zip(sizes, shapes, strict=True)]
    if sum(fits) == 0:
        raise PgsslError(f"the inputs are smaller than the network's {multiple} px stride: nothing to adapt on")
    tiled = sum(fits) <= max_crops  # few pixels: every non-overlapping crop once, no repeat
    if tiled:
        draws = fits
    else:
        area = np.array([h * w if n else 0 for (h, w), n in zip(sizes, fits, strict=True)], dtype=np.float64)
        draws = np.bincount(rng.choice(len(files), size=max_crops, p=area / area.sum()),
                            minlength=len(files)).tolist()
    crops: list[np.ndarray] = []
    for path, (height, width), (h, w), count in zip(files, sizes, shapes, draws, strict=True):
        if count == 0:
            continue
        with _open(path) as source:
            seen = _seen(source, config, gsd_m, stated_gsd_m, path.name)
            if tiled:
                corners = [[(r, c)] for r in range(0, height - h + 1, h) for c in range(0, width - w + 1, w)]
            else:
                corners = [[(int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)))
                            for _ in range(_TRIES)] for _ in range(count)]
            for tries in corners:  # the first corner whose window is imaged enough
                for r, c in tries:
                    rgb, valid = seen.read_window(c, r, w, h)
                    if valid.mean() >= MIN_VALID_SHARE:
                        crops.append(np.ascontiguousarray(rgb))
                        break
    if not crops:
        raise PgsslError("the inputs hold no crop of imaged (valid) pixels to adapt the model on")
    return crops


def adapt_to_rasters(model: nn.Module, config: ModelConfig, paths: Sequence[str | os.PathLike[str]],
                     gsd_m: float | str | None = "model", stated_gsd_m: float | None = None,
                     max_crops: int = MAX_CROPS, seed: int = 0, alpha: float = ADAPT_ALPHA,
                     device: str | torch.device | None = None) -> tuple[nn.Module, int]:
    """``(adapted copy of model, crops used)``: BatchNorm statistics re-estimated on :func:`raster_crops`,
    blended with the model's own by ``alpha`` (see :data:`~pgssl_core.models.adapt_bn.ADAPT_ALPHA`)."""
    crops = raster_crops(paths, config, gsd_m, stated_gsd_m, max_crops=max_crops, seed=seed)
    return adapt_batchnorm(model, adaptation_batches(crops, config, BATCH_CROPS), alpha, device), len(crops)


def _file_hash(path: Path) -> str:
    """SHA-256 of a file (cached per path, size and modification time: the page asks on every rerun)."""
    stat = path.stat()
    return _hash_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _hash_of(path: str, _size: int, _mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def adaptation_key(project: Project, base: Path = BASE_MODEL_PATH) -> str:
    """What the adapted model depends on, hashed: the base model's bytes, the project's tile ids (sorted), its
    stated tile GSD (it decides how ungeoreferenced tiles are resampled) and the GSD the model works at."""
    from pgssl_core.catalog.gsd_settings import project_gsd

    gsd = project_gsd(project)
    digest = hashlib.sha256(_file_hash(base).encode())
    for tile_id in sorted(r.id for r in project.tiles()):
        digest.update(tile_id.encode() + b"\n")
    digest.update(repr(gsd.tile_gsd_m).encode())
    digest.update(repr(gsd.working_gsd_m).encode())
    return digest.hexdigest()[:16]


def adapted_gsd_m(config: ModelConfig, working_gsd_m: float | None) -> float | None:
    """The GSD (m/px) the base model works at in a project: the project's working GSD where it is coarser than
    the model's own (coarse imagery, see ``tiles.gsd.suggested_working_gsd``), else the model's."""
    if config.gsd_m is None or working_gsd_m is None:
        return config.gsd_m
    return max(config.gsd_m, working_gsd_m)


def adapted_model_path(project: Project, base: Path = BASE_MODEL_PATH) -> Path:
    """Where the base model adapted to the project's current tiles is (or will be) kept."""
    return project.root / MODELS_DIR / f"{ADAPTED_PREFIX}{adaptation_key(project, base)}.pt"


def is_adapted_base(path: str | os.PathLike[str] | None) -> bool:
    """``path`` names an adapted base model file of a project (by its name)."""
    return path is not None and Path(path).name.startswith(ADAPTED_PREFIX) and Path(path).parent.name == MODELS_DIR


def adapted_base_model(project: Project, base: Path = BASE_MODEL_PATH, max_crops: int | None = None,
                       progress: Callable[[str], None] | None = None) -> Path:
    """The model file of ``base`` adapted to the project's tiles (BatchNorm statistics only, no labels),
    made now when the project's tile set has none yet (written atomically; older ones are removed).

    Raises:
        PgsslError: the project has no tiles, the base model cannot be read, or no tile gives a crop.
    """
    from pgssl_core.catalog.gsd_settings import project_gsd

    path = adapted_model_path(project, base)
    if path.is_file():
        return path
    records = project.tiles()
    if not records:
        raise PgsslError(f"project {project.name!r} has no tiles to adapt the base model to")
    if progress is not None:
        progress(f"Adapting the base model to your {len(records):,} tiles (BatchNorm statistics only)…")
    model, config, meta = load_model(base)
    settings = project_gsd(project)
    # the adapted model reads the project's tiles at its working GSD when that is coarser than the base model's
    # (1 m imagery at 0.7 m, not 0.3 m), and says so in its config, so every user of the file predicts there
    config = dataclasses.replace(config, gsd_m=adapted_gsd_m(config, settings.working_gsd_m))
    paths = [project.tile_path(r.id) for r in records]
    adapted, crops = adapt_to_rasters(model, config, paths, "model", settings.tile_gsd_m,
                                      max_crops=PROJECT_CROPS if max_crops is None else max_crops)
    info: dict[str, Any] = {"method": "batchnorm statistics (AdaBN)", "alpha": ADAPT_ALPHA, "tiles": len(records),
                            "crops": crops, "gsd_m": config.gsd_m,
                            "base_sha256": _file_hash(base), "labels_used": 0}
    save_model(path, adapted, config, {**meta, "name": ADAPTED_LABEL, "adaptation": info})
    for old in path.parent.glob(f"{ADAPTED_PREFIX}*.pt"):
        if old != path:
            old.unlink(missing_ok=True)
    return path


def project_model_choice(project: Project) -> ModelChoice | None:
    """The model the app predicts with, without making anything: the project's active model when it is set
    and present; else, for a project with tiles, the base model adapted to them (its file may not be made yet:
    :func:`ensure_model_file`); else the shipped base model as it is; None without any model."""
    from pgssl_core.project.active_model import active_model_path

    choice = model_or_base(active_model_path(project))
    if choice is None or not choice.is_base or not project.tiles():
        return choice
    return ModelChoice(adapted_model_path(project, choice.path), True, ADAPTED_CHOICE_LABEL)


def ensure_model_file(project: Project, choice: ModelChoice, progress: Callable[[str], None] | None = None) -> Path:
    """The model file of ``choice``, made first when it is the adapted base model and not there yet
    (:func:`adapted_base_model`: a few seconds, once per tile set).

    Raises:
        PgsslError: the adapted model cannot be made (see :func:`adapted_base_model`).
    """
    if choice.path.is_file() or not is_adapted_base(choice.path):
        return choice.path
    return adapted_base_model(project, BASE_MODEL_PATH, progress=progress)


def model_label(path: str | os.PathLike[str]) -> str:
    """How a prediction names the model file at ``path``: the base model, the adapted base model, or the file."""
    if Path(path) == BASE_MODEL_PATH:
        return "the base building model"
    if is_adapted_base(path):
        return f"the {ADAPTED_LABEL}"
    return f"model {Path(path).name}"
