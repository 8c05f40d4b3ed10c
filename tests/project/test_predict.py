"""Project-wide map layers: reference masks and model predictions -> mask GeoTIFFs, GeoPackage, manifest."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import rasterio

from pgssl_core.catalog import Project, RunKind
from pgssl_core.project.predict import (
    REFERENCE_LABEL,
    PredictionCancelled,
    load_project_maps,
    predict_project,
    read_layers,
    reference_footprints,
)
from pgssl_core.project.predict_job import PredictJob, read_status
from pgssl_core.project.run_jobs import start_run
from tests.project.conftest import BUILDINGS


def georef_ids(project: Project) -> list[str]:
    return [r.id for r in project.tiles() if r.georeferenced]


def test_reference_footprints_match_the_drawn_buildings(small_project: Project, tmp_path) -> None:
    maps = reference_footprints(small_project, tmp_path / "ref")
    footprints, extents = read_layers(maps)
    assert maps.manifest["label"] == REFERENCE_LABEL
    assert maps.manifest["tiles"] == 3  # the plain image without a CRS is left out
    assert len(footprints) == sum(len(b) for b in BUILDINGS)
    assert footprints.crs.to_epsg() == 4326 and extents.crs.to_epsg() == 4326
    np.testing.assert_allclose(footprints["area_m2"], 50.0, rtol=0.01)  # 20 x 10 px of 0.5 m
    assert sorted(extents["tile"]) == sorted(georef_ids(small_project))
    np.testing.assert_allclose(extents.to_crs(32650).area, 32.0 * 32.0, rtol=1e-6)
    with zipfile.ZipFile(maps.masks_zip) as zf:
        assert len(zf.namelist()) == 3
    with rasterio.open(maps.mask(georef_ids(small_project)[0])) as ds:
        tile = small_project.read(georef_ids(small_project)[0])
        assert ds.crs == tile.crs and ds.transform == tile.transform
        assert set(np.unique(ds.read(1))) == {0, 1}
    assert json.loads((tmp_path / "ref" / "manifest.json").read_text())["footprints"] == len(footprints)


def test_reference_footprints_reuse_a_finished_folder(small_project: Project, tmp_path) -> None:
    first = reference_footprints(small_project, tmp_path / "ref")
    stamp = first.footprints.stat().st_mtime_ns
    again = reference_footprints(small_project, tmp_path / "ref")
    assert again.manifest == first.manifest and again.footprints.stat().st_mtime_ns == stamp
    small_project.delete_tile(georef_ids(small_project)[0])  # the tile set changed: rebuilt
    assert reference_footprints(small_project, tmp_path / "ref").manifest["tiles"] == 2


def test_predict_project_writes_masks_and_resumes(small_project: Project, tiny_model_file, tmp_path) -> None:
    calls = []
    maps = predict_project(small_project, tiny_model_file, tmp_path / "pred",
                           progress=lambda d, t: calls.append((d, t)))
    ids = georef_ids(small_project)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert maps.manifest["source"] == "model" and maps.manifest["tiles"] == 3
    for tid in ids:
        with rasterio.open(maps.mask(tid)) as ds:
            assert ds.crs.to_epsg() == 32650 and ds.tags()["pgssl_output"] == "mask"
            assert set(np.unique(ds.read(1))) <= {0, 1}
    assert isinstance(gpd.read_file(maps.footprints), gpd.GeoDataFrame)

    # resume: finished tiles are kept as they are, the missing one is predicted again
    stamps = {tid: maps.mask(tid).stat().st_mtime_ns for tid in ids[1:]}
    maps.mask(ids[0]).unlink()
    again = predict_project(small_project, tiny_model_file, tmp_path / "pred")
    assert again.mask(ids[0]).is_file()
    assert {tid: again.mask(tid).stat().st_mtime_ns for tid in ids[1:]} == stamps


def test_cancel_stops_before_the_next_tile(small_project: Project, tiny_model_file, tmp_path) -> None:
    with pytest.raises(PredictionCancelled, match="after 0 of 3 tiles"):
        predict_project(small_project, tiny_model_file, tmp_path / "pred", cancel=lambda: True)
    assert load_project_maps(tmp_path / "pred") is None


def test_background_job_reports_done_on_disk(small_project: Project, tiny_model_file, tmp_path) -> None:
    started = start_run(small_project, RunKind.PREDICT, {"model": str(tiny_model_file)},
                        lambda _run_id, folder: PredictJob(small_project.root, tiny_model_file, folder))
    run_id, folder = started.run_id, started.run_dir
    snapshot = started.job.join(timeout=120)
    assert snapshot["state"] == "done", snapshot
    assert snapshot["progress"] == {"done": 3, "total": 3}
    status = read_status(folder)
    assert status["state"] == "done" and status["tiles"] == 3
    assert small_project.run(run_id).status == "done" and small_project.run(run_id).metrics["tiles"] == 3
    assert load_project_maps(folder).manifest["tiles"] == 3


def test_background_job_reports_a_bad_model_file(small_project: Project, tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    snapshot = PredictJob(small_project.root, bad, tmp_path / "run").start().join(timeout=60)
    assert snapshot["state"] == "failed" and snapshot["error"] and "\n" not in snapshot["error"]


def test_predict_part_of_a_project(small_project: Project, tiny_model_file, tmp_path) -> None:
    """Tiles picked by a drawn rectangle (project/predict_area): only they are predicted and mapped."""
    part = georef_ids(small_project)[1:2]
    _run_id, folder = small_project.create_run("predict", {"model": str(tiny_model_file), "tile_ids": part})
    snapshot = PredictJob(small_project.root, tiny_model_file, folder, tile_ids=part).start().join(timeout=120)
    assert snapshot["state"] == "done" and snapshot["progress"] == {"done": 1, "total": 1}, snapshot
    maps = load_project_maps(folder)
    assert maps.manifest["tiles"] == 1 and maps.manifest["tile_ids"] == part
    assert sorted(p.stem for p in (folder / "masks").iterdir()) == part
    assert list(read_layers(maps)[1]["tile"]) == part  # the imaged extent is that tile's alone
