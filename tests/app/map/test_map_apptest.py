"""Smoke test of the Map page with Streamlit's AppTest on the Beijing demo (reference-mask layers)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app.main_script import MAIN


def test_map_page_shows_reference_layers_and_recomputes_pv(empty_projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=240).run()
    at.switch_page("../pages/map.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value.startswith("Map · Beijing demo")
    assert any("reference masks (ground truth)" in c.value for c in at.caption)
    assert at.radio(key="map_source").value == "Reference masks (ground truth)"
    table = at.dataframe[0].value
    assert len(table) == 16 and table["Buildings"].sum() > 0
    # issue 21: the page says how much imagery the district figures cover (computed) and that the map shows
    # the demo's reference masks
    per_district = f"{table['Imaged km²'][table['Imaged km²'] > 0].median():.3f} km² of imagery per district"
    assert any(per_district in c.value and "reference masks" in c.value for c in at.caption), per_district
    labels = [b.label for b in at.get("download_button")]
    # issue 15 adds more below
    assert labels[:3] == ["Districts (CSV)", "Footprints (GeoPackage)", "Masks (GeoTIFF, zip)"]
    assert (empty_projects_env / "beijing-demo" / "maps" / "reference" / "footprints.gpkg").is_file()

    drawn = at.session_state["_map_interactive_base"]  # (fingerprint, folium map) kept for st_folium
    at.sidebar.slider(key="pv_share").set_value(0.7).run()
    assert not at.exception, at.exception
    # issue 16 item 7: the base map carries no PV figure, so a slider move leaves it as it was (the browser
    # keeps it; only the roofs coloured by PV are swapped in, tests/app/map/test_map_interactive.py)
    assert at.session_state["_map_interactive_base"] is drawn
    moved = at.dataframe[0].value
    assert (moved["Footprint m²"] == table["Footprint m²"]).all()
    ratio = (moved["PV MWp"] / table["PV MWp"]).dropna()
    assert len(ratio) and ratio.round(6).eq(1.4).all()
