"""Files shipped with the package: the top-level ``assets/`` folder (base model, district boundaries, OAM sample).

In a checkout (and an editable install, ``pip install -e .``) they are the repository's ``assets/`` beside
``pgssl_core/``. A wheel (``pip install .``) carries the same folder as ``pgssl_core/assets`` (``setup.py`` maps
it there, ``pyproject.toml`` lists its files as package data), found through ``importlib.resources``. Installs are
plain folders (setuptools wheels are never imported zipped), so either way the folder is a real directory that
rasterio, GDAL and torch can open by path.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _assets_dir() -> Path:
    """``pgssl_core/assets`` of an installed wheel where it exists, else the checkout's ``assets/``."""
    packaged = Path(str(files("pgssl_core") / "assets"))
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "assets"


#: ``assets/``: demo boundaries, the real OAM sample, the base model and their provenance notes (``README.md``).
ASSETS_DIR: Path = _assets_dir()

#: The shipped base building model (float16 weights; card: ``assets/models/README.md``). Named
#: ``base`` wherever the CLI and app take a model (``--init base``, ``--model base``).
BASE_MODEL_PATH: Path = ASSETS_DIR / "models" / "base_building.pt"
