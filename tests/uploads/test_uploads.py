"""Browser uploads: untrusted names, zip archives, bad files reported per file."""

import io
import zipfile
from pathlib import Path

import pytest

from pgssl_core.catalog import Project
from pgssl_core.shipped import ASSETS_DIR
from pgssl_core.uploads import MAX_ZIP_MEMBERS, import_uploads, stage_uploads

SAMPLE = ASSETS_DIR / "oam_sample" / "images"


@pytest.fixture()
def project(tmp_path: Path):
    with Project.create(tmp_path / "p", "uploads") as proj:
        yield proj


def _png(index: int = 0) -> tuple[str, bytes]:
    path = sorted(SAMPLE.glob("*.png"))[index]
    return path.name, path.read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_client_name_is_never_a_path(project: Project, tmp_path: Path) -> None:
    name, data = _png()
    results = import_uploads(project, [("../../etc/evil/" + name, data)])
    assert [r.status for r in results] == ["added"]
    record = project.tile(results[0].tile_ids[0])
    assert record.original_name == name  # display only, directory parts dropped
    assert record.georeferenced  # the XYZ name still georeferences it
    assert not (tmp_path / "etc").exists()
    assert not any((project.root / "staging").iterdir())  # staging cleaned up


def test_zip_members_imported_and_bad_ones_reported(project: Project) -> None:
    good = dict([_png(0), _png(1)])
    archive = _zip({**{f"dir/{k}": v for k, v in good.items()}, "notes.txt": b"hello",
                    "broken.png": b"not a png at all", "__MACOSX/._x.png": b"junk"})
    results = import_uploads(project, [("tiles.zip", archive), ("empty.jpg", b"")])
    by_status = {}
    for r in results:
        by_status.setdefault(r.status, []).append(r)
    assert len(by_status["added"]) == 2
    errors = {r.source_name: r.message for r in by_status["error"]}
    assert errors["empty.jpg"] == "empty file (0 bytes)"
    assert "tiles.zip/broken.png" in errors and "\n" not in errors["tiles.zip/broken.png"]
    assert len(project.tiles()) == 2


def test_zip_zip_slip_names_do_not_escape(tmp_path: Path) -> None:
    name, data = _png()
    staged, problems = stage_uploads([("a.zip", _zip({"../../../../tmp/" + name: data}))], tmp_path / "s")
    assert not problems
    assert staged[0].path.resolve().is_relative_to((tmp_path / "s").resolve())  # stays inside staging
    assert staged[0].display_name == f"a.zip/{name}"


def test_zip_with_too_many_members_is_refused(tmp_path: Path) -> None:
    archive = _zip({f"{i}.png": b"x" for i in range(MAX_ZIP_MEMBERS + 1)})
    staged, problems = stage_uploads([("many.zip", archive)], tmp_path / "s")
    assert staged == [] and "limit" in problems[0].message


def test_corrupt_zip(tmp_path: Path) -> None:
    staged, problems = stage_uploads([("bad.zip", b"PK\x03\x04garbage")], tmp_path / "s")
    assert staged == [] and problems[0].message == "not a valid zip archive"


def test_zip_xyz_folder_names_georeference(project: Project) -> None:
    """A zip of ``z/x/y.png`` slippy tiles keeps enough of its paths to be georeferenced."""
    name, data = _png()
    x, y, z = name.removesuffix(".png").split("-")[1:]
    results = import_uploads(project, [("xyz.zip", _zip({f"tiles/{z}/{x}/{y}.png": data}))])
    assert [r.status for r in results] == ["added"]
    assert project.tile(results[0].tile_ids[0]).georeferenced
