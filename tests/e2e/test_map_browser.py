"""The Map page in a real browser: the Beijing demo's map shows its district layer."""

import pytest

from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def test_map_shows_district_layer(app_server, page) -> None:
    page.goto(app_server["url"] + "/map?project=beijing-demo", wait_until="domcontentloaded")
    page.get_by_text("Map · Beijing demo", exact=False).first.wait_for(timeout=180_000)
    # st_folium renders the Leaflet map inside a component iframe
    frame = page.frame_locator("iframe").first
    control = frame.locator(".leaflet-control-layers")
    control.get_by_text("Districts: Building coverage", exact=False).wait_for(timeout=120_000)
    # issue 21: the roofs come coloured by PV (one layer; the plain footprints are not drawn under them)
    control.get_by_text("Roofs by PV (reference masks (ground truth)", exact=False).wait_for(timeout=30_000)
    assert control.get_by_text("Building footprints", exact=False).count() == 0
    # a district polygon is drawn on the canvas and the legend names the metric
    # the heatmap legend hides with its layer
    frame.locator(".legend", has_text="Building coverage of the imaged area").wait_for(timeout=30_000)
    page.get_by_text("Districts", exact=True).first.wait_for(timeout=30_000)  # the table heading below the map
    # issue 21: the imagery behind the district figures and the site the PV sliders follow are stated
    page.get_by_text("km² of imagery per district", exact=False).first.wait_for(timeout=30_000)
    page.get_by_text("centre of the imaged area", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let Leaflet finish drawing the overlays before the screenshot
    screenshot(page, "map-beijing-demo")
    # hovering a district polygon shows its tooltip with the name and the figures
    page.locator("iframe").first.scroll_into_view_if_needed()  # the map sits below the fold on a 1000 px page
    page.wait_for_timeout(500)
    box = page.locator("iframe").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55)
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.get_by_text("Roof area", exact=False).wait_for(timeout=30_000)
    assert "District" in tooltip.inner_text()
    page.locator("iframe").first.screenshot(path=str(screenshot(page, "map-beijing-demo-tooltip")))
