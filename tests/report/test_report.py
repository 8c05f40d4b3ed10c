"""The project report: numbers equal the CSV, model error from the run's validation tiles, verdict, CLI."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pandas as pd
import pytest

from pgssl_core.catalog import Project
from pgssl_core.cli import main
from pgssl_core.project.active_model import active_model_path
from pgssl_core.project.validation_iou import validation_iou
from pgssl_core.report import export_report
from pgssl_core.report.gather import GROUND_TRUTH, MODEL_ERROR_FILE, run_info, validation_counts

from .conftest import N_LABELLED, N_TILES


class _Cells(HTMLParser):
    """``{district: {column: value}}`` from the ``data-col``/``data-value`` cells of table#districts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._table: str | None = None
        self._row: str | None = None
        self.images = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tr" and self._table == "districts" and "data-district" in a:
            self._row = a["data-district"]
            self.rows[self._row] = {}
        elif self._row and "data-col" in a:
            self.rows[self._row][a["data-col"]] = a.get("data-value", "")
        elif tag == "img" and (a.get("src") or "").startswith("data:image/png;base64,"):
            self.images += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = self._row = None


def district_cells(html: str) -> _Cells:
    parser = _Cells()
    parser.feed(html)
    return parser


def assert_cells_equal_csv(cells: dict[str, dict[str, str]], csv: pd.DataFrame) -> int:
    """Every numeric cell of the report equals the CSV's value; returns the number compared."""
    table = csv.set_index("district")
    compared = 0
    for district, columns in cells.items():
        for column, text in columns.items():
            expected = table.loc[district, column]
            if text == "":
                assert pd.isna(expected) or column.endswith(("_low", "_high")), (district, column)
                continue
            assert float(text) == pytest.approx(float(expected), rel=1e-9), (district, column)
            compared += 1
    return compared


def _export(project, tmp_path):
    """Export the report and its CSV; returns (data, html, csv, cells)."""
    out, csv_path = tmp_path / "report.html", tmp_path / "districts.csv"
    data = export_report(project, out, csv_out=csv_path)
    html = out.read_text(encoding="utf-8")
    return data, html, pd.read_csv(csv_path), district_cells(html)


def test_reference_report_numbers_equal_the_csv(reference_project, tmp_path):
    data, html, csv, cells = _export(reference_project, tmp_path)
    imaged = csv[csv["footprint_m2"] > 0]
    assert len(imaged) >= 1 and assert_cells_equal_csv(cells.rows, csv) >= 10 * len(imaged)
    assert data.correction.status == GROUND_TRUTH and GROUND_TRUTH in html
    assert (imaged["footprint_m2_corrected"] == imaged["footprint_m2"]).all()
    assert "No pgssl run behind these buildings" in html and data.run is None


@pytest.mark.slow
def test_report_numbers_equal_the_csv_and_carry_the_model_error(report_project, tmp_path):
    data, html, csv, cells = _export(report_project, tmp_path)
    assert cells.images >= 2  # static map and label-budget curve, embedded
    assert "http://" not in html and "https://" not in html.replace("https://www", "")  # nothing to fetch
    imaged = csv[csv["footprint_m2"] > 0]
    assert len(imaged) >= 1 and set(imaged["district"]) <= set(cells.rows)
    assert assert_cells_equal_csv(cells.rows, csv) >= 10 * len(imaged)
    assert {"footprint_m2_corrected", "footprint_m2_corrected_low", "capacity_mwp_corrected_high"} <= set(csv)

    # model error from the run's validation tiles: the 4 reference tiles nobody labelled
    c = data.correction
    assert c.known and c.tiles == N_TILES - N_LABELLED
    row = imaged.iloc[0]
    assert row["footprint_m2_corrected"] == pytest.approx(row["footprint_m2"] * c.precision / c.recall, rel=1e-5)
    cached = json.loads((data.run.run_dir / MODEL_ERROR_FILE).read_text())
    assert [t["tile"] for t in cached["counts"]] == [t["tile"] for t in c.per_tile]
    # the verdict of the baseline comparison, on the same validation tiles
    assert data.comparison is not None and f"on your {c.tiles} validation tiles" in data.comparison.verdict
    assert data.comparison.verdict.split(":")[0] in html
    # per building: the district sums are the building sums
    per = data.buildings[data.buildings["district"] != ""].groupby("district")["kwp"].sum() / 1e3
    for name, mwp in per.items():
        assert csv.set_index("district").loc[name, "capacity_mwp"] == pytest.approx(mwp, rel=1e-5)
    assert 'id="largest-roofs"' in html and "Model card" in html and "annual_ghi_kwh_m2" in html


def test_report_cli(reference_project, tmp_path, capsys):
    assert main(["report", "--project", str(reference_project), "--out", str(tmp_path / "r.html"),
                 "--csv-out", str(tmp_path / "r.csv")]) == 0
    assert "r.html: report of 'Report test'" in capsys.readouterr().out
    assert (tmp_path / "r.csv").is_file()
    assert main(["report", "--project", str(reference_project), "--out", str(tmp_path / "r.txt")]) == 2
    assert "must end in .html" in capsys.readouterr().err
    assert main(["report", "--project", str(tmp_path / "nothing"), "--out", str(tmp_path / "r.html")]) == 2
    assert "is not a pgssl project" in capsys.readouterr().err


def test_validation_counts_cached_per_model_and_the_interval_over_them(report_project) -> None:
    """Per-tile counts of the run's model on its validation tiles: measured once per model file, read back
    from RUN_DIR/model_error.json, measured again when that file is unreadable; the interval rests on them."""
    with Project.open(report_project) as project:
        run = run_info(active_model_path(project))  # the setting itself is relative to the project
        counts = validation_counts(project, run)
        assert len(counts) == N_TILES - N_LABELLED  # the reference tiles nobody labelled
        cache = run.run_dir / MODEL_ERROR_FILE
        stamp = cache.stat().st_mtime_ns
        assert validation_counts(project, run) == counts and cache.stat().st_mtime_ns == stamp  # read back
        cache.write_text("not json", encoding="utf-8")
        assert validation_counts(project, run) == counts  # measured again, the file rewritten
    figures = validation_iou(counts)
    tp, fp, fn = (sum(getattr(c, k) for c in counts) for k in ("tp", "fp", "fn"))
    assert figures.iou == (tp / (tp + fp + fn) if tp + fp + fn else 1.0)
    assert figures.has_interval and figures.low <= figures.iou <= figures.high
    assert [r["tile"] for r in figures.tile_rows()] == [c.tile for c in counts]
