"""Sharded prediction under torchrun: two CPU processes with gloo on 127.0.0.1 against one process.

One ``predict`` over a list file of several small rasters (shared out whole) and two larger ones split into
row bands across the ranks (one on the working grid, one resampled to it and warped back). Every output
has the same CRS, transform and pixels as the single-process prediction: byte-identical bands (both run
with one thread per process, as torchrun starts its workers, so the float sums are done in the same
order). The banded outputs are valid COGs assembled by GDAL; footprints joined across band seams match the
single-process ones; every output is written once; a job killed mid-way (torchrun and both ranks) and started again
with ``--resume`` skips the finished outputs and writes the rest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from tests.e2e.app_process import free_port
from tests.infer.conftest import random_image, write_rgb_geotiff

REPO = Path(__file__).resolve().parents[2]
PREDICT = ["--tile", "128", "--overlap", "32", "--batch-size", "3", "--gsd", "0.3", "--device", "cpu"]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # one thread per process in both runs (torchrun's default for its workers), loopback only for gloo
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
            "PYTHONPATH": str(REPO)}


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def _torchrun_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
            "--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "pgssl_core", "predict", *args]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    return _run(_torchrun_argv(*args))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A list file of 3 small rasters (0.3 m) and 2 larger ones (0.3 m: 700 x 520 px; 0.5 m: 460 x 400 px),
    and a random-weight model file."""
    import torch

    from pgssl_core.models import ModelConfig, create_model, save_model

    root = tmp_path_factory.mktemp("sharded")
    names = []
    for i in range(3):
        write_rgb_geotiff(root / f"small{i}.tif", random_image(150 + 20 * i, 170, seed=i), res=0.3)
        names.append(f"small{i}.tif")
    write_rgb_geotiff(root / "big_native.tif", random_image(700, 520, seed=7), res=0.3)
    write_rgb_geotiff(root / "big_resampled.tif", random_image(460, 400, seed=8), res=0.5)
    names += ["big_native.tif", "big_resampled.tif"]
    (root / "inputs.txt").write_text("# rasters to map\n" + "\n".join(names) + "\n")
    torch.manual_seed(0)
    config = ModelConfig(encoder="resnet18", encoder_depth=3, decoder_channels=(16, 8, 4))
    save_model(root / "model.pt", create_model(config), config, {"note": "random weights for tests"})
    return root / "inputs.txt", root / "model.pt", [Path(n).stem for n in names]


def test_two_ranks_match_one_process(inputs, tmp_path: Path) -> None:
    listing, model, stems = inputs
    one, two = tmp_path / "one", tmp_path / "two"
    common = ["--model", str(model), "--input", str(listing), *PREDICT]
    _run([sys.executable, "-m", "pgssl_core", "predict", *common, "--out", str(one), "--polygons",
          str(tmp_path / "one.gpkg")])
    proc = _torchrun(*common, "--out", str(two), "--band-min-mpx", "0.15", "--polygons", str(tmp_path / "two.gpkg"))
    record = json.loads(proc.stdout.strip().splitlines()[-1])

    assert record["world_size"] == 2
    written = [w for rank in ("0", "1") for w in record["written"][rank]]
    expected = sorted(str(two / f"{s}_probability.tif") for s in stems)
    assert sorted(written) == expected  # every output written once, by one rank
    assert all(record["written"][r] for r in ("0", "1"))  # both ranks shared the small rasters
    for rank in ("0", "1"):  # the two large rasters were each split over both ranks
        assert sorted(b.split(" rows ")[0] for b in record["bands"][rank]) == ["big_native.tif", "big_resampled.tif"]
    assert record["px_per_s"]["0"] > 0 and record["px_per_s"]["1"] > 0 and record["total_px_per_s"] > 0
    assert "total:" in proc.stdout

    for stem in stems:
        with rasterio.open(one / f"{stem}_probability.tif") as a, rasterio.open(two / f"{stem}_probability.tif") as b:
            assert (a.crs, a.transform, a.shape) == (b.crs, b.transform, b.shape), stem
            assert np.array_equal(a.read(1), b.read(1)), f"{stem}: sharded prediction differs"
            assert a.tags()["pgssl_output"] == b.tags()["pgssl_output"] and b.nodata == a.nodata
            if stem.startswith("big"):
                assert b.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG", stem
                assert b.overviews(1), f"{stem}: the COG has no overviews"
    assert not [p for p in two.iterdir() if p.name.startswith(".")], "band work files left behind"

    single, sharded = gpd.read_file(tmp_path / "one.gpkg"), gpd.read_file(tmp_path / "two.gpkg")
    assert len(sharded) == len(single) > 0  # buildings cut by a band seam are joined back into one
    assert sharded["area_m2"].sum() == pytest.approx(single["area_m2"].sum(), rel=1e-3)
    assert not sharded["tile"].str.contains("#rows").any()  # band pieces carry their raster's name again


def test_resume_skips_finished_outputs(inputs, tmp_path: Path) -> None:
    listing, model, stems = inputs
    out = tmp_path / "out"
    common = ["--model", str(model), "--input", str(listing), *PREDICT, "--out", str(out), "--band-min-mpx", "0.15"]
    _torchrun(*common)
    # as after a kill: one small and one banded output missing, the rest finished
    for stem in ("small1", "big_native"):
        (out / f"{stem}_probability.tif").unlink()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    record = json.loads(_torchrun(*common, "--resume").stdout.strip().splitlines()[-1])
    written = sorted(Path(w).name for rank in ("0", "1") for w in record["written"][rank])
    assert written == ["big_native_probability.tif", "small1_probability.tif"]
    assert sorted(Path(s).name for s in record["skipped"]) == sorted(before)
    assert all(p.stat().st_mtime_ns == before[p.name] for p in out.iterdir() if p.name in before)
    # one process: --resume skips finished outputs too
    (out / "small0_probability.tif").unlink()
    single = _run([sys.executable, "-m", "pgssl_core", "predict", *common[:-2], "--resume"]).stdout
    assert single.count("exists, skipped (--resume)") == len(stems) - 1
    assert "small0_probability.tif: 170 x 150 px" in single


def _with_descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (torchrun starts its workers in sessions of their own, so a signal to
    its process group would miss them)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _kill_all(pid: int) -> None:
    for victim in _with_descendants(pid):
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_killed_run_restarts_and_skips_finished_outputs(inputs, tmp_path: Path) -> None:
    listing, model, stems = inputs
    out = tmp_path / "out"
    args = ["--model", str(model), "--input", str(listing), *PREDICT, "--out", str(out), "--band-min-mpx", "0.15",
            "--resume"]
    log = (tmp_path / "killed.log").open("w")
    proc = subprocess.Popen(_torchrun_argv(*args), cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 600
        while not list(out.glob("*_probability.tif")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the job ended before it could be killed:\n" + \
            (tmp_path / "killed.log").read_text()[-3000:]
        _kill_all(proc.pid)  # torchrun and both ranks, mid-job (as when the machine goes down)
    finally:
        if proc.poll() is None:
            _kill_all(proc.pid)
        proc.wait(timeout=60)
        log.close()
    finished = sorted(p.name for p in out.glob("*_probability.tif"))
    assert finished and len(finished) < len(stems)
    record = json.loads(_torchrun(*args).stdout.strip().splitlines()[-1])
    written = [Path(w).name for rank in ("0", "1") for w in record["written"][rank]]
    skipped = [Path(s).name for s in record["skipped"]]
    assert sorted(skipped) == finished and not set(written) & set(skipped)
    assert sorted(written + skipped) == sorted(f"{s}_probability.tif" for s in stems)
    for name in written + skipped:
        with rasterio.open(out / name) as ds:
            ds.read(1)  # complete and readable
