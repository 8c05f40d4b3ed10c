"""Issue 21 in a real browser: labels that are all building are warned on the Label page, with the fix, and
refused at Train with the reason, its Start button disabled.

The labels are saved through the library (``Project.save_label``, as the Label page's autosave does) before the
pages open, which is faster than painting and leaves the pages' own behaviour under test: what the Label page
reads from the saved label and what the Train page's data plan (``project.data_plan.edge_problem``) says."""

from __future__ import annotations

import numpy as np
import pytest

from pgssl_core.catalog import Project
from pgssl_core.catalog.labels import BUILDING, UNLABELLED
from tests.app.map.test_pv_site_apptest import SIZE, _sao_paulo
from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def _building_strokes() -> np.ndarray:
    """(SIZE, SIZE) label: three horizontal building strokes, nothing else labelled (no background)."""
    mask = np.full((SIZE, SIZE), UNLABELLED, np.uint8)
    for row in (12, 30, 48):
        mask[row:row + 4, 8:56] = BUILDING
    return mask


def test_one_class_labels_are_warned_on_the_label_page_and_refused_at_train(app_server, page) -> None:
    folder = _sao_paulo(app_server["projects"])
    with Project.open(folder) as project:
        tile_ids = [r.id for r in project.tiles()]
        for tile_id in tile_ids:
            project.save_label(tile_id, _building_strokes(), 0)
    url, name = app_server["url"], folder.name

    page.goto(f"{url}/label?project={name}&tile={tile_ids[0]}", wait_until="domcontentloaded")
    warning = page.get_by_test_id("stAlert").filter(has_text="This tile's labels are 100% building")
    warning.wait_for(timeout=120_000)
    text = warning.inner_text()
    assert "cannot learn where buildings end" in text and "paint background strokes" in text, text
    assert "Rest is background" in text, text  # the other fix is named too
    screenshot(page, "label-one-class-warning")

    page.goto(f"{url}/train?project={name}", wait_until="domcontentloaded")
    refusal = page.get_by_test_id("stAlert").filter(has_text="hold no background pixel")
    refusal.wait_for(timeout=120_000)
    text = refusal.inner_text()
    assert f"the {len(tile_ids)} labelled tiles hold no background pixel" in text, text
    assert "no model can learn where buildings end" in text and "paint background strokes" in text, text
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=30_000)
    assert start.is_disabled()
    assert page.get_by_text("labelled for training", exact=False).count() == 0  # no data plan shown
    screenshot(page, "train-one-class-refused")
