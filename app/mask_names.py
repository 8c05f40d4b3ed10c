"""Downloaded masks named after the files the user uploaded, not the project's internal tile ids."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePath


def mask_name(original: str, taken: set[str]) -> str:
    """``roofs/a.tif`` -> ``a_mask.tif``; a second ``a.tif`` (another folder of a zip) -> ``a_mask-2.tif``.

    Only the final component is kept, so a name from the client can never point outside the archive.
    """
    stem = PurePath(original.replace("\\", "/")).stem or "tile"
    stem = "".join(ch if ch.isprintable() and ch not in '<>:"|?*' else "_" for ch in stem)
    name, n = f"{stem}_mask.tif", 2
    while name.lower() in taken:
        name, n = f"{stem}_mask-{n}.tif", n + 1
    taken.add(name.lower())
    return name


def renamed_masks_zip(data: bytes, originals: dict[str, str]) -> bytes:
    """The masks zip (entries ``masks/<tile id>.tif``) with each mask renamed after its uploaded file;
    entries of unknown tiles keep their names."""
    out, taken = io.BytesIO(), set()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            tile_id = PurePath(info.filename).stem
            name = f"masks/{mask_name(originals[tile_id], taken)}" if tile_id in originals else info.filename
            target.writestr(name, source.read(info))
    return out.getvalue()
