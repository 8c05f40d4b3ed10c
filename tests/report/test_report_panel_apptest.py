"""Map and Train page additions of issue 15 with Streamlit's AppTest on the Beijing demo (reference masks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.fixture(autouse=True)
def private_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGSSL_TRAIN_LOCK", str(tmp_path / "train.lock"))


@pytest.mark.slow  # builds the demo projects and writes a report: ~30 s on an idle 2-core machine
def test_map_page_largest_roofs_model_error_and_report_button(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=240).run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    headers = [h.value for h in at.subheader]
    assert "Largest roofs" in headers and "Roof area corrected for the model's error" in headers
    assert any("reference masks (ground truth): no model error" in c.value for c in at.caption)
    roofs = next(d.value for d in at.dataframe if "kWp" in d.value.columns)
    assert len(roofs) == 50 and roofs["Roof m²"].is_monotonic_decreasing and roofs["District"].ne("").all()
    labels = [b.label for b in at.get("download_button")]
    assert {"Buildings with PV (CSV)", "Buildings with PV (GeoPackage)"} <= set(labels)

    at.button(key="report_export").click().run()
    assert not at.exception, at.exception
    assert "Download report.html" in [b.label for b in at.get("download_button")]
    report = projects_env / "beijing-demo" / "maps" / "reference" / "report.html"
    assert report.is_file() and "Largest roofs" in report.read_text(encoding="utf-8")


def test_train_page_without_pgssl_run_explains_the_comparison(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=240).run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    assert "Did pretraining help?" in [h.value for h in at.subheader]
    assert any("Finish a pgssl run" in c.value for c in at.caption)


@pytest.mark.slow  # trains a pgssl run and its baseline (test profile), then opens two pages
def test_pages_show_the_verdict_and_the_measured_model_error(projects_env: Path, tmp_path: Path) -> None:
    from app.session import PROJECT_PARAM
    from tests.report.conftest import build_report_project

    build_report_project(projects_env / "report-test")
    at = AppTest.from_file(MAIN, default_timeout=240)
    at.query_params[PROJECT_PARAM] = "report-test"
    at.run()
    at.switch_page("../pages/train.py").run()
    assert not at.exception, at.exception
    verdicts = [i.value for i in at.info if "supervised baseline on your 4 validation tiles" in i.value]
    assert len(verdicts) == 1
    assert any(list(d.value.columns)[:2] == ["round", "stage"] for d in at.dataframe)  # per-round val IoU

    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    assert at.radio(key="map_source").value.startswith("Prediction")
    assert any("measured on 4 validation tiles" in c.value for c in at.caption)
    corrected = next(d.value for d in at.dataframe if "Corrected m²" in d.value.columns)
    assert (corrected["Corrected low"] <= corrected["Corrected m²"]).all()
    assert (corrected["Corrected m²"] <= corrected["Corrected high"]).all()
