"""Issue 21 in headless Chromium: the report of a project outside Beijing (São Paulo, no district boundaries)
has PV figures for its imaged area, and its assumptions table lists the site's values: modules facing north
(azimuth 0°, the equator from the southern hemisphere) and Brazil's grid emission factor, not Beijing's."""

from __future__ import annotations

import pytest

from pgssl_core.report import export_report
from tests.app.map.test_pv_site_apptest import BRAZIL, _sao_paulo
from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def _cells(page, selector: str) -> dict[str, float]:
    """``data-col`` -> ``data-value`` of the cells under ``selector``, as the DOM holds them."""
    return dict(page.eval_on_selector_all(
        f"{selector} [data-col]", "els => els.map(e => [e.dataset.col, parseFloat(e.dataset.value)])"))


def _assumption(page, name: str) -> tuple[float, str]:
    """(value, source) of one row of the report's PV assumptions table."""
    row = page.locator("#assumptions tr").filter(has=page.get_by_role("cell", name=name, exact=True))
    return float(row.locator("td").nth(1).inner_text()), row.locator("td.source").inner_text()


def test_report_outside_beijing_shows_pv_figures_and_the_sites_assumptions(page, tmp_path) -> None:
    folder = _sao_paulo(tmp_path / "projects")
    out = tmp_path / "report.html"
    export_report(folder, out)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")

    imaged = page.locator("#districts tr[data-district='Imaged area']")
    assert imaged.count() == 1 and page.locator("#districts tr[data-district]").count() == 1
    cells = _cells(page, "#districts tr[data-district='Imaged area']")
    assert cells["footprint_m2"] > 0
    for figure in ("capacity_mwp_corrected", "generation_gwh_corrected", "co2_t_corrected"):
        assert cells[figure] > 0 and cells[f"{figure}_low"] <= cells[figure] <= cells[f"{figure}_high"], figure
    assert float(imaged.locator("td[data-col='capacity_mwp_corrected']").inner_text().split()[0]) > 0  # shown
    roofs = page.locator("#largest-roofs tr").filter(has=page.locator("[data-col='kwp']"))
    assert roofs.count() == 2  # the two 150 m² roofs, each with its kWp and kWh/yr
    for i in range(roofs.count()):
        roof = _cells(page, f"#largest-roofs tr:nth-child({i + 2})")
        assert roof["roof_area_m2"] > 0 and roof["kwp"] > 0 and roof["kwh_yr"] > 0, roof

    azimuth, azimuth_source = _assumption(page, "azimuth_deg")
    assert azimuth == 0.0 and "facing the equator" in azimuth_source  # north, from 23.55 S
    tilt, _ = _assumption(page, "tilt_deg")
    assert tilt == pytest.approx(23.55, abs=0.1)  # |latitude|, not Beijing's
    factor, factor_source = _assumption(page, "emission_factor_t_mwh")
    assert factor == BRAZIL.value and "Brazil" in factor_source
    page.locator("#districts").scroll_into_view_if_needed()
    screenshot(page, "report_sao_paulo")
