"""The Home page in a real browser: the demo projects appear with their tiles on first start."""

import pytest

from pgssl_core.shipped import ASSETS_DIR
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


def test_upload_reports_bad_file_and_keeps_working(app_server, page, tmp_path) -> None:
    """A corrupt file is refused with its reason, the good one is added, and the app stays up."""
    good = sorted((ASSETS_DIR / "oam_sample" / "images").glob("*.png"))[0]
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)  # PNG signature, truncated header
    page.goto(app_server["url"] + "/?project=oam-sample", wait_until="domcontentloaded")
    page.get_by_text("Real sample", exact=False).first.wait_for(timeout=120_000)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files([str(good), str(bad)])
    page.get_by_role("button", name="Import 2 file(s)").click()
    page.get_by_text("Last import: 1 added, 1 refused.").wait_for(timeout=60_000)
    page.get_by_text("corrupt.png", exact=False).first.wait_for(timeout=10_000)
    screenshot(page, "home-upload-result")
    # the app still answers: switch page and back
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("Real sample", exact=False).first.wait_for(timeout=60_000)
