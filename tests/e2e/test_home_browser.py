"""The Home page in a real browser: the demo projects appear with their tiles on first start."""

import pytest

from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def test_home_lists_demo_tiles(app_server, page) -> None:
    page.goto(app_server["url"], wait_until="domcontentloaded")
    page.get_by_text("Beijing demo", exact=False).first.wait_for(timeout=120_000)
    page.get_by_text("Synthetic imagery", exact=False).first.wait_for(timeout=30_000)
    # thumbnails are real <img> elements served by Streamlit's media endpoint
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 6",
                           timeout=60_000)
    assert "project=" in page.url  # the project is in the URL, so a reload finds it again
    screenshot(page, "home-beijing-demo")

    # reload: the same project is shown (state from the URL, not from the lost session)
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("Beijing demo", exact=False).first.wait_for(timeout=60_000)

    # switch to the real sample through the sidebar picker
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Real sample", exact=False).click()
    page.get_by_text("OpenAerialMap", exact=False).first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=\"stImage\"] img').length >= 6",
                           timeout=60_000)
    screenshot(page, "home-real-sample")
