"""The HTML report in headless Chromium: it renders offline, its images load, its numbers equal the CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from pgssl_core.report import export_report
from tests.e2e.artifacts import screenshot
from tests.report.conftest import build_reference_project
from tests.report.test_report import assert_cells_equal_csv

pytestmark = pytest.mark.e2e


def test_report_renders_offline_and_matches_the_csv(page, tmp_path):
    project = build_reference_project(tmp_path / "project")
    out, csv_path = tmp_path / "report.html", tmp_path / "districts.csv"
    export_report(project, out, csv_out=csv_path)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    assert page.title().startswith("Rooftop-PV report")
    # every embedded image decoded (a broken data URI has naturalWidth 0)
    widths = page.eval_on_selector_all("img", "els => els.map(e => e.complete ? e.naturalWidth : 0)")
    assert widths and all(w > 100 for w in widths)
    assert page.locator("#static-map").bounding_box()["width"] > 600
    # the numbers a reader sees in Chromium's DOM equal the CSV
    rows = page.eval_on_selector_all(
        "#districts tr[data-district]",
        "trs => trs.map(tr => [tr.dataset.district, Object.fromEntries("
        "[...tr.querySelectorAll('[data-col]')].map(c => [c.dataset.col, c.dataset.value]))])")
    cells = dict(rows)
    assert assert_cells_equal_csv(cells, pd.read_csv(csv_path)) >= 10
    shown = page.locator("#districts tr[data-district] td[data-col='footprint_m2']").first.inner_text()
    assert float(shown.replace(",", "")) > 0
    assert all(u.startswith(("file:", "data:")) for u in requests)  # opens offline: nothing fetched
    screenshot(page, "report_reference_project")
