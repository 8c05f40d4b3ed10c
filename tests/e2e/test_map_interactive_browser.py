"""The Map page's interactive map in Chromium (issue 21): a click on a district and on a roof shows its
figures in the page, through streamlit-folium's returned click."""

import re

import pytest

from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e

# Fires a click on the first layer of the map whose GeoJSON feature has ``prop`` and not ``skip`` (a district
# with imagery: "status"; a roof: "kwp"), at its bounds' centre, as a mouse click on it would: the
# component's own click handler (bound to every layer) sends the point to the page.
CLICK = """([prop, skip]) => {
    var hit = null;
    window.map.eachLayer(function (layer) {
        var p = layer.feature && layer.feature.properties;
        if (!hit && p && prop in p && !(skip in p) && p.footprint_m2_text !== "no imagery" && layer.getBounds) {
            hit = layer;
        }
    });
    if (!hit) { return false; }
    hit.fire("click", {latlng: hit.getBounds().getCenter()});
    return true;
}"""


def test_click_district_and_roof_shows_figures(app_server, page) -> None:
    page.goto(app_server["url"] + "/map?project=beijing-demo", wait_until="domcontentloaded")
    page.get_by_text("Map · Beijing demo", exact=False).first.wait_for(timeout=180_000)
    frame_locator = page.frame_locator("iframe").first
    frame_locator.get_by_text("Roofs by PV", exact=False).first.wait_for(timeout=120_000)  # the PV layer is in
    page.get_by_text("Roof PV generation (kWh/yr)", exact=False).first.wait_for(timeout=30_000)  # its legend
    frame = next(f for f in page.frames if f.url and "streamlit_folium" in f.url)
    assert frame.evaluate(CLICK, ["status", "kwp"])  # a district
    figures = page.locator(".st-key-map_picked")
    # case-sensitive: the caption shown before any click says "Click a district or a roof"
    figures.get_by_text(re.compile(r"^District ")).first.wait_for(timeout=60_000)
    figures.get_by_text("kWp (", exact=False).first.wait_for(timeout=60_000)
    assert "District" in figures.inner_text() and "kWh/yr" in figures.inner_text()
    assert frame.evaluate(CLICK, ["kwp", "status"])  # a roof
    figures.get_by_text(re.compile(r"^Building \d")).first.wait_for(timeout=60_000)
    text = figures.inner_text()
    assert "Roof area" in text and "kWp (" in text and "CO₂ avoided" in text
    figures.scroll_into_view_if_needed()  # the figures under the map, with the map's lower part above them
    page.wait_for_timeout(1500)
    screenshot(page, "map-interactive-roof-clicked")
