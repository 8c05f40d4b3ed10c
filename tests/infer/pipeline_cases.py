"""Inputs and ``predict`` commands whose outputs are kept as byte references of the prediction pipeline.

``tests/infer/data/pipeline_reference.json`` holds the SHA-256 of every file the ``predict`` command of commit
3aa28e0 wrote for these cases, before the three prediction routes were made one (``infer/pipeline.py``);
``test_pipeline_reference.py`` checks that today's command writes the same bytes. To rebuild it with another
tree's code (only when a change of the outputs is meant):
``PYTHONPATH=<tree> python tests/infer/pipeline_cases.py <scratch folder>``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

REFERENCE = Path(__file__).resolve().parent / "data" / "pipeline_reference.json"
#: name -> predict options after the input and output folder (``--tile`` was the window's old name).
CASES: dict[str, list[str]] = {
    # 0.5 m source, resampled to the base model's 0.3 m working grid and written back; footprints too
    "dense": ["--tile", "256", "--overlap", "64", "--polygons", "{out}/footprints.geojson"],
    # native resolution, 0/1 mask
    "native_mask": ["--gsd", "native", "--output", "mask", "--tile", "192", "--overlap", "32"],
    # a sparse GeoTIFF (2 stored blocks of 16): predicted region by region
    "sparse": ["--gsd", "native", "--polygons", "{out}/footprints.geojson"],
}


def _image(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth-ish random uint8 RGB (H, W, 3): blocks of colour plus noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(height // 8 + 1, width // 8 + 1, 3))
    img = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:height, :width]
    return np.clip(img + rng.integers(-20, 21, size=img.shape), 0, 255).astype(np.uint8)


def make_input(case: str, folder: Path) -> Path:
    """Write the input GeoTIFF of ``case`` (UTM 50N near Beijing, 0.5 m) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case}.tif"
    profile = dict(driver="GTiff", count=3, dtype="uint8", crs="EPSG:32650", nodata=0,
                   transform=from_origin(448_000.0, 4_420_000.0, 0.5, 0.5))
    if case == "sparse":
        with rasterio.open(path, "w", width=2048, height=2048, tiled=True, blockxsize=512, blockysize=512,
                           sparse_ok=True, **profile) as ds:
            for k, (col, row) in enumerate(((0, 0), (1536, 1024))):
                ds.write(np.moveaxis(np.maximum(_image(512, 512, 7 + k), 1), 2, 0), window=Window(col, row, 512, 512))
        return path
    image = np.maximum(_image(300, 280, 3 if case == "dense" else 5), 1)
    image[:40, :60] = 0  # a nodata corner
    with rasterio.open(path, "w", width=280, height=300, **profile) as ds:
        ds.write(np.moveaxis(image, 2, 0))
    return path


def command(case: str, src: Path, out: Path, window_flag: str = "--tile") -> list[str]:
    """The ``predict`` arguments of ``case`` with the base model on the CPU, window option named ``window_flag``."""
    options = [window_flag if o == "--tile" else o.format(out=out) for o in CASES[case]]
    return ["predict", "--model", "base", "--input", str(src), "--out", str(out), "--device", "cpu", *options]


def digests(out: Path) -> dict[str, str]:
    """SHA-256 of every file in the output folder ``out``, by file name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir()) if p.is_file()}


def main(out_root: Path) -> None:
    """Predict every case under ``out_root/<case>`` with the ``pgssl_core`` on ``sys.path``; write
    :data:`REFERENCE` from the outputs."""
    from pgssl_core.cli import main as cli

    reference = {}
    for case in CASES:
        out = out_root / case
        src = make_input(case, out_root / "inputs")
        assert cli(command(case, src, out)) == 0
        reference[case] = digests(out)
    REFERENCE.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
