"""The Train page in a real browser: with two labelled tiles, start a run of the tiny test profile and
watch it reach "done" (progress, loss curves, validation IoU, history)."""

from __future__ import annotations

import json

import pytest

from pgssl_core.catalog import Project
from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def _label_two_tiles(project_dir) -> None:
    """Save the reference mask of two untouched tiles as complete labels (as if painted)."""
    with Project.open(project_dir) as project:
        untouched = [r for r in project.tiles() if r.label_version == 0][-2:]  # the Label test uses the first
        for record in untouched:
            project.save_label(record.id, project.reference_mask(record.id), 0, complete=True)


def test_train_test_profile_to_done(app_server, page) -> None:
    project_dir = app_server["projects"] / "beijing-demo"
    page.goto(f"{app_server['url']}/train?project=beijing-demo", wait_until="domcontentloaded")
    page.get_by_text("Train · Beijing demo", exact=False).first.wait_for(timeout=120_000)
    _label_two_tiles(project_dir)  # after the first page load, which creates the demo projects
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("labelled for training", exact=False).first.wait_for(timeout=60_000)

    page.get_by_test_id("stSelectbox").filter(has_text="Profile").click()
    page.get_by_role("option", name="test ·", exact=False).click()
    page.get_by_text("The test profile uses a small subset", exact=False).wait_for(timeout=30_000)
    page.get_by_text("Estimated duration", exact=False).first.wait_for(timeout=30_000)
    screenshot(page, "train-setup")

    page.get_by_role("button", name="Start training").click()
    page.get_by_text("finished", exact=True).wait_for(timeout=150_000)  # the live panel's progress bar
    page.get_by_text("Validation IoU", exact=False).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Use as active model").wait_for(timeout=30_000)  # history refreshed
    screenshot(page, "train-done")
    page.get_by_text("Run history", exact=True).scroll_into_view_if_needed()
    screenshot(page, "train-history")

    runs = sorted((project_dir / "runs").iterdir())
    # The job files "done" after it has compared the run with the active model on the validation tiles
    # (project/model_activation.py), which can end a moment after the page shows the finished progress bar.
    status_file = runs[-1] / "status.json"
    for _ in range(120):
        if status_file.is_file() and json.loads(status_file.read_text()).get("state") == "done":
            break
        page.wait_for_timeout(500)
    status = json.loads(status_file.read_text())
    assert status["state"] == "done" and (runs[-1] / "model.pt").is_file()
    assert 0.0 <= status["val"]["iou"] <= 1.0
