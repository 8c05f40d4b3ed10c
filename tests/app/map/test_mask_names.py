"""Downloaded masks carry the uploaded files' names (issue 16, item 11)."""

from __future__ import annotations

import io
import zipfile

from app.mask_names import mask_name, renamed_masks_zip


def test_masks_are_named_after_the_uploaded_files() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for tile_id in ("a1", "b2", "c3", "d4"):
            zf.writestr(f"masks/{tile_id}.tif", tile_id.encode())
    originals = {"a1": "atlanta_0.tif", "b2": "north/atlanta_0.tif", "c3": "../../etc/passwd.png"}
    with zipfile.ZipFile(io.BytesIO(renamed_masks_zip(buffer.getvalue(), originals))) as zf:
        names = zf.namelist()
        assert names == ["masks/atlanta_0_mask.tif", "masks/atlanta_0_mask-2.tif", "masks/passwd_mask.tif",
                         "masks/d4.tif"]
        assert zf.read("masks/atlanta_0_mask-2.tif") == b"b2"  # contents follow their tile


def test_mask_name_is_a_single_safe_component() -> None:
    taken: set[str] = set()
    assert mask_name("C:\\scans\\roof?.tif", taken) == "roof__mask.tif"
    assert mask_name("", taken) == "tile_mask.tif"
