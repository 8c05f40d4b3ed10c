"""Atomic writes leave either the old or the new file, never a partial one."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pgssl_core.io import atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_with


def test_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.bin"]


def test_exception_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write(b"{ half")
            raise RuntimeError("boom")
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_write_with_keeps_suffix_for_format_drivers(tmp_path: Path) -> None:
    seen = []

    def writer(tmp: Path) -> None:
        seen.append(tmp.suffix)
        tmp.write_text("x")

    atomic_write_with(tmp_path / "out.gpkg", writer)
    assert seen == [".gpkg"]
    assert (tmp_path / "out.gpkg").read_text() == "x"


def test_sigkill_mid_write_leaves_old_content(tmp_path: Path) -> None:
    """A process killed while writing never leaves a torn file behind."""
    target = tmp_path / "label.bin"
    atomic_write_bytes(target, b"A" * 1000)
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pgssl_core.io import atomic_write
        with atomic_write({str(target)!r}) as h:
            h.write(b"B" * 500)
            h.flush()
            print("writing", flush=True)
            time.sleep(30)
            h.write(b"B" * 500)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert target.read_bytes() == b"A" * 1000


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    """Not mkstemp's owner-only 0600: a container user other than the writer can still read them."""
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "a.bin", b"x")
        atomic_write_with(tmp_path / "b.txt", lambda p: p.write_text("y"))
    finally:
        os.umask(umask)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o644
