"""PV for any place (issue 21): on a southern-hemisphere project the Map page's PV sliders show the values
the figures use (tilt = |latitude|, the site's irradiation, Brazil's grid factor), the modules face north,
the emission-factor slider reaches 0, and the report of the project has PV figures for its imaged area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rasterio.crs import CRS
from rasterio.transform import from_origin
from streamlit.testing.v1 import AppTest

from pgssl_core.assess.grid_emissions import GRID_FACTORS
from pgssl_core.catalog import Project
from pgssl_core.report import export_report
from pgssl_core.tiles import Tile, TileMeta
from tests.app.main_script import MAIN

UTM23S = CRS.from_epsg(32723)
ORIGIN = (333_600.0, 7_394_650.0)  # about 23.55 S 46.63 W: São Paulo
SIZE = 64  # px, 0.5 m
BRAZIL = next(g for g in GRID_FACTORS if g.country == "Brazil")


def _sao_paulo(root: Path) -> Path:
    with Project.create(root / "sao-paulo", "São Paulo") as project:
        for i in range(2):
            image = np.random.default_rng(i).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
            mask = np.zeros((SIZE, SIZE), np.uint8)
            mask[10:40, 10:30] = 1  # a 150 m² roof
            tile = Tile(image, np.ones((SIZE, SIZE), bool), from_origin(ORIGIN[0] + 300.0 * i, ORIGIN[1], 0.5, 0.5),
                        UTM23S, TileMeta(SIZE, SIZE, 3, "uint8", "GTiff", None, f"s{i}.tif"))
            project.add_tile(tile, f"s{i}.tif", reference_mask=mask)
    return root / "sao-paulo"


def _slider(at: AppTest, field: str):
    return next(s for s in at.sidebar.slider if s.key.startswith(f"pv_{field}"))


def test_sliders_show_the_values_the_figures_use(empty_projects_env: Path) -> None:
    _sao_paulo(empty_projects_env)
    at = AppTest.from_file(MAIN, default_timeout=240)
    at.query_params["project"] = "sao-paulo"
    at.run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    row = at.dataframe[0].value.iloc[0]
    assert row["District"] == "Imaged area" and row["PV MWp"] > 0
    # shown = used: each site slider holds exactly the value in the table's row
    assert _slider(at, "tilt_deg").value == row["Tilt °"] == pytest.approx(23.55, abs=0.1)
    assert _slider(at, "annual_ghi_kwh_m2").value == row["GHI kWh/m²"]
    assert 1400 <= row["GHI kWh/m²"] <= 2000 and row["GHI kWh/m²"] == round(row["GHI kWh/m²"])
    assert _slider(at, "emission_factor_t_mwh").value == row["Grid tCO₂/MWh"] == BRAZIL.value
    assert row["Azimuth °"] == 0.0  # southern hemisphere: facing north, the equator
    assert any("modules face north (azimuth 0°)" in c.value and "Brazil" in c.value for c in at.sidebar.caption)
    assert _slider(at, "emission_factor_t_mwh").min == 0.0 and _slider(at, "emission_factor_t_mwh").max >= 1.2

    _slider(at, "emission_factor_t_mwh").set_value(0.0).run()  # a fully renewable grid
    assert not at.exception, at.exception
    moved = at.dataframe[0].value.iloc[0]
    assert moved["CO₂ avoided t/yr"] == 0.0 and moved["GWh/yr"] == pytest.approx(row["GWh/yr"])
    assert "set by the user" in moved["PV assumptions"]


def test_report_outside_beijing_has_pv_figures_for_the_imaged_area(empty_projects_env: Path, tmp_path: Path) -> None:
    folder = _sao_paulo(empty_projects_env)
    data = export_report(folder, tmp_path / "report.html")
    table = data.district_frame()
    assert table["district"].tolist() == ["Imaged area"] and table["capacity_mwp"].iloc[0] > 0
    assert table["generation_gwh"].iloc[0] > 0 and table["co2_t"].iloc[0] > 0
    assert "imaged area as one row" in (data.district_note or "")
    used = data.assumptions.table().set_index("name")["value"]
    # the report lists the values used at the site, not Beijing's
    assert used["azimuth_deg"] == 0.0 and used["tilt_deg"] == pytest.approx(23.55, abs=0.1)
    assert used["emission_factor_t_mwh"] == BRAZIL.value
    assert used["annual_ghi_kwh_m2"] == table["pv_annual_ghi_kwh_m2"].iloc[0]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Imaged area" in html and "Brazil" in html
