"""The band count is the same wherever it is shown: ``inspect``'s ``bands`` and a band-map error count the
bands as the file is read, alpha included (found by a fresh-eyes QA run: a 4-band RGBA PNG was "bands": 4 in
inspect but "the file has 3 band(s)" in the --band-map error)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pgssl_core.cli import main


def _image(tmp_path: Path, kind: str) -> Path:
    rng = np.random.default_rng(0)
    rgba = rng.integers(1, 255, (64, 64, 4), dtype=np.uint8)
    path = tmp_path / f"{kind}.{'jpg' if kind == 'CMYK' else 'png'}"
    if kind == "P":
        Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    elif kind == "P-transparent":
        im = Image.fromarray(rgba[..., :3]).convert("P", palette=Image.Palette.ADAPTIVE)
        im.info["transparency"] = 0
        im.save(path, transparency=0)
    elif kind == "CMYK":
        Image.fromarray(rgba, mode="CMYK").save(path)
    else:
        Image.fromarray(rgba[..., : len(kind)] if kind != "L" else rgba[..., 0]).convert(kind).save(path)
    return path


@pytest.mark.parametrize(("kind", "bands"), [("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4), ("P", 3),
                                             ("P-transparent", 4), ("CMYK", 3)])
def test_inspect_and_band_map_errors_count_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str,
                                                 bands: int) -> None:
    path = _image(tmp_path, kind)
    assert main(["inspect", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["bands"] == bands
    assert main(["inspect", str(path), "--band-map", f"{bands + 1}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    said = re.search(r"but the file has (\d+) band", err)
    assert said is not None and int(said.group(1)) == bands, err
    if kind in ("LA", "RGBA", "P-transparent"):  # the last band is the alpha, and the error says so
        assert f"band {bands}, its alpha (transparency" in err, err
        assert main(["inspect", str(path), "--band-map", f"{bands}"]) == 2
        assert f"asks for band {bands} but the file has {bands} bands" in capsys.readouterr().err


def test_rgba_png_of_the_qa_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _image(tmp_path, "RGBA")
    assert main(["inspect", str(path), "--band-map", "4,3,2"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: RGBA.png: band map (4, 3, 2) asks for band 4 but the file has 4 bands: 3 colour band(s) and "
        "band 4, its alpha (transparency, which marks the valid pixels and cannot be shown)")
