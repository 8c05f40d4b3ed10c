"""Format sniffing by magic bytes and refusal of everything outside the allow-list."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pgssl_core.errors import TileError
from pgssl_core.tiles import read_tile, sniff_format


def _pillow_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "expected"), [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp"), ("TIFF", "gtiff")])
def test_sniff_by_magic_ignores_extension(tmp_path, fmt, expected):
    path = tmp_path / "misnamed.dat"
    path.write_bytes(_pillow_bytes(fmt))
    assert sniff_format(path) == expected


def test_sniff_bigtiff(tmp_path):
    path = tmp_path / "big.tif"
    path.write_bytes(b"II+\x00\x08\x00\x00\x00" + b"\x00" * 16)
    assert sniff_format(path) == "gtiff"


@pytest.mark.parametrize(("content", "word"), [
    (b"", "empty"),
    (b"hello, this is not an image\n", "text"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "EPS"),
    (b"\xc5\xd0\xd3\xc6" + b"\x00" * 40, "EPS"),
    (b"%PDF-1.7\n" + b"\x00" * 40, "PDF"),
    (b"GIF89a" + b"\x00" * 40, "GIF"),
    (b"<html><body>404</body></html>", "HTML"),
    (b"\x00\x01\x02\xff\xfe" * 10, "binary"),
])
def test_refused_content_with_image_extension(tmp_path, content, word):
    path = tmp_path / "upload.png"
    path.write_bytes(content)
    with pytest.raises(TileError, match=word) as info:
        read_tile(path)
    assert "\n" not in str(info.value)
    assert "upload.png" in str(info.value)


def test_eps_is_never_handed_to_pillow(tmp_path, monkeypatch):
    path = tmp_path / "evil.jpg"
    path.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n")
    calls = []
    monkeypatch.setattr(Image, "open", lambda *a, **k: calls.append(a) or pytest.fail("Pillow was called"))
    with pytest.raises(TileError, match="EPS"):
        read_tile(path)
    assert calls == []


def test_pillow_is_restricted_to_the_sniffed_format(tmp_path, monkeypatch):
    path = tmp_path / "ok.png"
    path.write_bytes(_pillow_bytes("PNG"))
    seen = []
    real_open = Image.open

    def spy(fp, mode="r", formats=None):
        seen.append(formats)
        return real_open(fp, mode, formats)

    monkeypatch.setattr(Image, "open", spy)
    read_tile(path)
    assert seen and all(f == ["PNG"] for f in seen)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TileError, match="not found"):
        sniff_format(tmp_path / "nope.tif")
    with pytest.raises(TileError, match="folder"):
        sniff_format(tmp_path)
