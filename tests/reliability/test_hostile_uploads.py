"""Hostile uploads: zip slip, symlinks, 10,000 entries, a zip bomb, nested zips, hostile names, a PNG that
claims 100,000 x 100,000 px and a text file named ``.tif``.

The uploads go through ``import_uploads`` (what the app's uploader calls with the browser's bytes) in a
child process, which reports its peak RSS; the file system around the project is compared before and after.
The same files on disk go through the CLI ``import``.
"""

from __future__ import annotations

import json
import stat
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest

from pgssl_core.catalog import Project
from pgssl_core.uploads import MAX_ZIP_MEMBERS, MAX_ZIP_RATIO

from .conftest import REPO_ROOT, SAMPLE_PNGS, cli, last_json_line, run_child, snapshot, write_geotiff

pytestmark = pytest.mark.reliability

TOKEN = "pgssl-escape-7f3a"  # part of every escaping name, searched for outside the project afterwards
BOMB_BYTES = 1024**3  # 1 GiB of zeros, about 1 MB compressed

CHILD = r"""
import json, sys
from pathlib import Path
from pgssl_core.catalog import Project
from pgssl_core.uploads import import_uploads

def peak_kb():  # VmHWM starts afresh at exec (ru_maxrss would carry the forking parent's peak)
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))

root, uploads = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
baseline_kb = peak_kb()
out = {}
with Project.open(root) as project:
    for case, items in uploads.items():
        pairs = [(name, Path(path).read_bytes()) for name, path in items]
        out[case] = [[r.source_name, r.status, r.message, r.tile_ids] for r in import_uploads(project, pairs)]
        del pairs
print(json.dumps({"results": out, "baseline_mb": baseline_kb / 1024, "peak_mb": peak_kb() / 1024}))
"""


def _zip(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]],
         symlinks: dict[str, str] | None = None) -> Path:
    pairs = list(members.items()) if isinstance(members, dict) else members
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": on purpose
        for name, data in pairs:
            archive.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def _bomb(path: Path) -> Path:
    """One ``.tif`` member of ``BOMB_BYTES`` zeros, streamed (never held in memory here either)."""
    chunk = bytes(1024**2)
    info = zipfile.ZipInfo("bomb.tif")
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w", compresslevel=9) as archive:
        with archive.open(info, "w", force_zip64=True) as member:
            for _ in range(BOMB_BYTES // len(chunk)):
                member.write(chunk)
    return path


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A PNG signature and IHDR chunk claiming ``width`` x ``height`` px RGB, then a tiny IDAT and IEND."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Build every hostile upload, run them through ``import_uploads`` in a child, compare the file system."""
    base = tmp_path_factory.mktemp("hostile")
    files, cwd = base / "files", base / "cwd"
    files.mkdir()
    cwd.mkdir()
    png_a, png_b = SAMPLE_PNGS[0].read_bytes(), SAMPLE_PNGS[1].read_bytes()
    tif = write_geotiff(files / "good.tif").read_bytes()
    inner = _zip(files / "inner.zip", {"deep/tile.png": png_a}).read_bytes()
    uploads = {
        "zip_slip": [("slip.zip", _zip(files / "slip.zip", {f"../../../../{TOKEN}-a.png": png_a,
                                                            f"/tmp/{TOKEN}-b.png": png_b}))],
        "symlink": [("links.zip", _zip(files / "links.zip", {"ok.png": png_a},
                                        {"link.png": "/etc/passwd", f"up-{TOKEN}.tif": "../../../etc"}))],
        "entries_10000": [("many.zip", _zip(files / "many.zip", {f"f{i}.txt": b"" for i in range(10_000)}))],
        "zip_bomb": [("bomb.zip", _bomb(files / "bomb.zip"))],
        "nested": [("nested.zip", _zip(files / "nested.zip", {"inner.zip": inner}))],
        "dup_in_zip": [("dup.zip", _zip(files / "dup.zip", [("a/x.png", png_a), ("a/x.png", png_b)]))],
        "names": [(f"../../{TOKEN}-x.tif", files / "good.tif"), ("nul\x00ctl\x01\x1b[31m.tif", files / "good.tif"),
                  ("n" * 300 + ".tif", files / "good.tif"), ("\u202egnp.tif", files / "good.tif"),
                  ("same.tif", files / "good.tif"), ("same.tif", files / "good.tif")],
        "png_100k": [("huge.png", _png_claiming(files / "huge.png", 100_000, 100_000))],
        "text_as_tif": [("notes.tif", files / "notes.tif")],
    }
    (files / "notes.tif").write_text("this is not an image\n")
    assert tif
    listing = {case: [(name, str(path)) for name, path in items] for case, items in uploads.items()}
    (base / "uploads.json").write_text(json.dumps(listing))
    root = base / "project"
    Project.create(root, "hostile").close()
    before = snapshot(base)
    proc = run_child(CHILD, str(root), str(base / "uploads.json"), timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = last_json_line(proc.stdout)
    after = snapshot(base)
    report["new_outside_project"] = sorted(p for p in set(after) - set(before) if not p.startswith("project/"))
    report["changed_outside_project"] = sorted(p for p in before if not p.startswith("project/")
                                               and after.get(p) != before[p])
    report["root"] = root
    print(f"hostile uploads: peak RSS {report['peak_mb']:.0f} MB (after imports {report['baseline_mb']:.0f} MB)")
    return report


def _by_name(report: dict, case: str) -> dict[str, tuple[str, str]]:
    return {name: (status, message) for name, status, message, _ in report["results"][case]}


def test_nothing_written_outside_the_project(hostile: dict) -> None:
    assert hostile["new_outside_project"] == []
    assert hostile["changed_outside_project"] == []
    for where in (REPO_ROOT, Path("/tmp"), hostile["root"].parent.parent):
        assert not [p for p in where.iterdir() if TOKEN in p.name]
    project_files = [p for p in hostile["root"].rglob("*") if p.is_file()]
    assert not [p for p in project_files if TOKEN in p.name or p.is_symlink()]
    assert not any((hostile["root"] / "staging").iterdir())  # staging removed after every upload


def test_peak_memory_stays_bounded(hostile: dict) -> None:
    # the 1 GiB bomb must never be expanded in memory: the whole batch stays within 300 MB of the baseline
    assert hostile["peak_mb"] - hostile["baseline_mb"] < 300, hostile["peak_mb"]


def test_zip_slip_members_land_inside_under_generated_names(hostile: dict) -> None:
    results = hostile["results"]["zip_slip"]
    assert [r[1] for r in results] == ["added", "added"]
    with Project.open(hostile["root"]) as project:
        stored = project.tiles()
    assert all(".." not in r.original_name and not r.original_name.startswith("/") for r in stored)


def test_symlink_members_are_refused(hostile: dict) -> None:
    results = _by_name(hostile, "symlink")
    assert results["links.zip/ok.png"][0] == "added"
    assert results["links.zip/link.png"] == ("error", "symbolic link in the zip: links are never followed")
    assert results[f"links.zip/up-{TOKEN}.tif"][0] == "error"


def test_ten_thousand_entries_name_the_limit(hostile: dict) -> None:
    [(name, status, message, _)] = hostile["results"]["entries_10000"]
    assert status == "error" and "10,000 entries" in message and f"{MAX_ZIP_MEMBERS:,}" in message
    assert "MAX_ZIP_MEMBERS" in message


def test_zip_bomb_is_refused_before_extraction(hostile: dict) -> None:
    [(name, status, message, _)] = hostile["results"]["zip_bomb"]
    assert status == "error" and "zip bomb" in message and "MAX_ZIP_RATIO" in message
    assert f"{MAX_ZIP_RATIO} times" in message


def test_nested_zip_is_reported_not_expanded(hostile: dict) -> None:
    [(name, status, message, _)] = hostile["results"]["nested"]
    assert name == "nested.zip/inner.zip" and status == "error" and "zip inside a zip" in message


def test_duplicate_names_in_a_zip_never_overwrite(hostile: dict) -> None:
    results = sorted(hostile["results"]["dup_in_zip"], key=lambda r: r[1])
    assert [r[1] for r in results] == ["added", "error"]
    assert "twice" in results[1][2]


def test_hostile_names_are_stored_clean_and_each_gets_one_line(hostile: dict) -> None:
    results = hostile["results"]["names"]
    assert [r[1] for r in results] == ["added"] * 6
    names = [r[0] for r in results]
    assert all(name.isprintable() and "/" not in name and len(name) <= 200 for name in names)
    assert names[0] == f"{TOKEN}-x.tif" and names[4] == names[5] == "same.tif"
    assert len({tuple(r[3]) for r in results}) == 6  # the same name twice: two tiles, none overwritten


def test_png_claiming_100k_pixels_names_the_limit(hostile: dict) -> None:
    [(name, status, message, _)] = hostile["results"]["png_100k"]
    assert status == "error" and "MAX_TILE_PIXELS" in message and "decompression bomb" in message
    assert "\n" not in message


def test_text_file_named_tif_is_refused(hostile: dict) -> None:
    [(name, status, message, _)] = hostile["results"]["text_as_tif"]
    assert status == "error" and "content is text" in message


def test_cli_import_of_hostile_files_one_line_each(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_geotiff(folder / "esc\x1b[31mred.tif")
    write_geotiff(folder / "\u202egnp.tif", seed=1)
    (folder / "notes.tif").write_text("not an image")
    _png_claiming(folder / "huge.png", 100_000, 100_000)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = cli("import", str(folder), "--project", str(tmp_path / "p"), cwd=cwd)
    assert proc.returncode == 1, proc.stderr  # some refused, some added
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 5 and all(line.isprintable() for line in lines)  # 4 files + the summary, no escapes
    assert sum(line.startswith("error: ") for line in lines) == 2
    assert not list(cwd.iterdir())
