"""Files shipped inside the package: ``pgssl_core/assets`` (base model, district boundaries, OAM sample).

Located through ``importlib.resources``, so the same paths work in a checkout, an editable install and a
``pip install .`` (the wheel carries the folder as package data, see ``pyproject.toml``). Installs are
plain folders (setuptools wheels are never imported zipped), so the resource is a real directory that
rasterio, GDAL and torch can open by path.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

#: ``pgssl_core/assets``: demo boundaries, the real OAM sample, the base model and their provenance notes.
ASSETS_DIR: Path = Path(str(files("pgssl_core") / "assets"))

#: The shipped base building model (float16 weights; card: ``pgssl_core/assets/models/README.md``). Named
#: ``base`` wherever the CLI and app take a model (``--init base``, ``--model base``).
BASE_MODEL_PATH: Path = ASSETS_DIR / "models" / "base_building.pt"
