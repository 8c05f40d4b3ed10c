"""``python -m pgssl_core inspect``: JSON summary on stdout, one-line error and exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pgssl_core.cli import cmd_inspect, main

REPO = Path(__file__).resolve().parents[2]


def test_inspect_geotiff(rgb_tif, capsys):
    assert main(["inspect", str(rgb_tif)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["width"] == 80 and out["height"] == 64 and out["bands"] == 3 and out["dtype"] == "uint8"
    assert out["crs"] == "EPSG:32650" and out["georeferenced"] is True
    assert out["bounds"] == pytest.approx([440000.0, 4419968.0, 440040.0, 4420000.0])
    assert out["gsd_m"] == pytest.approx(0.5, rel=1e-3)  # 40 m over 80 px, UTM scale factor ~1 here
    assert out["nodata_fraction"] == 0.0 and out["needs_split"] is False


def test_inspect_large_raster_counts_nodata_by_windows(make_geotiff, capsys, monkeypatch):
    data = np.full((1, 200, 300), 9, np.uint8)
    data[:, :50] = 0
    path = make_geotiff(data, nodata=0)
    monkeypatch.setattr(cmd_inspect, "MAX_TILE_PIXELS", 1000)  # force the windowed path
    assert main(["inspect", str(path), "--tile-size", "256"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nodata_fraction"] == pytest.approx(0.25) and out["needs_split"] is True
    assert out["nodata"] == 0.0


def test_inspect_real_oam_tile(oam_dir, capsys):
    path = next((oam_dir / "images").glob("*-19.png"))
    assert main(["inspect", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["crs"] == "EPSG:3857" and out["georeferenced"]
    assert out["driver"] in ("PNG", "JPEG")  # some .png files hold JPEG data
    # XYZ zoom 19: 0.2986 m per Web Mercator pixel, times cos(latitude) on the ground (about 0.29-0.30 m)
    assert 0.28 < out["gsd_m"] < 0.30


def test_inspect_ungeoreferenced_png_has_no_gsd(tmp_path, capsys):
    from PIL import Image
    path = tmp_path / "photo.png"
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(path)
    assert main(["inspect", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["georeferenced"] is False and out["gsd_m"] is None and out["not_georeferenced_reason"]


@pytest.mark.parametrize("content", [b"", b"just some text", b"%!PS-Adobe-3.0 EPSF-3.0\n"])
def test_inspect_bad_input_exits_2(tmp_path, capsys, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    assert main(["inspect", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad.png:")


def test_inspect_bad_band_map(rgb_tif, capsys):
    assert main(["inspect", str(rgb_tif), "--band-map", "a,b"]) == 2
    assert "--band-map" in capsys.readouterr().err


def test_inspect_as_a_process_exits_2_on_bad_input(tmp_path):
    """The real entry point: one line on stderr, nothing on stdout, exit code 2."""
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    bad = subprocess.run([sys.executable, "-m", "pgssl_core", "inspect", str(empty)], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip() == "error: empty.tif: the file is empty (0 bytes)"


def test_inspect_large_all_nodata_raster_exits_2(make_geotiff, capsys, monkeypatch):
    path = make_geotiff(np.zeros((1, 100, 100), np.uint8), nodata=0)
    monkeypatch.setattr(cmd_inspect, "MAX_TILE_PIXELS", 1000)
    assert main(["inspect", str(path)]) == 2
    assert "every pixel is nodata" in capsys.readouterr().err
