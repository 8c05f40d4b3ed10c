"""The banner after an import counts tiles, not files (issue 21: a 12,000 x 300 px PNG added 24 tiles and the
banner said "1 added")."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pgssl_core.catalog import Project
from pgssl_core.uploads import import_summary, import_uploads


def _png(width: int, height: int) -> bytes:
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_long_png_counts_as_its_tiles(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p", "long strip") as project:
        results = import_uploads(project, [("strip.png", _png(12_000, 300)), ("small.png", _png(200, 200)),
                                           ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)])
        assert len(project.tiles()) == 25  # ceil(12,000 / 512) = 24 tiles of the strip, 1 of the small image
        assert import_summary(results) == "25 added, 1 refused (1 file split into 24 tiles)"


def test_one_tile_per_file_reads_as_before(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p", "plain") as project:
        results = import_uploads(project, [("a.png", _png(100, 100)), ("b.png", _png(120, 90))])
        assert import_summary(results) == "2 added, 0 refused"
