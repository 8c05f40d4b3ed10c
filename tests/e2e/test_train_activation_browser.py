"""Issue 21 in a real browser: a run that is truly worse than the base model is not made the active model, and
the Train page says why, with both figures side by side; the user can still choose it.

On the real OpenAerialMap sample, the imagery the base model knows, a user's realistic mistake: on each of two
tiles one roof painted, then "Rest is background", which calls every other roof background. Seconds of the test
profile from random weights on those labels give a model that misses the roofs the base model finds on the
validation tiles' reference masks (seen: IoU 0.15 vs 0.39); the real decision code (``project.model_activation``:
both models measured on the same tiles, paired bootstrap) keeps the base model and the page gives both figures,
the negative gain and its interval. (With the test profile's 4 validation tiles that interval, about -0.97 to
+0.48 here, still includes 0, so the page says "no gain beyond the noise"; the wording for an interval wholly
below 0 is checked in tests/project/test_model_activation.py.) The gain under the run's score is grey and
"not adopted", not a green improvement. (On the synthetic Beijing
demo the base model scores below a model that calls everything roof, so no run there is clearly worse.)"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy import ndimage

from pgssl_core.catalog import Project
from pgssl_core.project.active_model import active_model_setting
from tests.e2e.artifacts import screenshot

pytestmark = pytest.mark.e2e


def _roofs(mask: np.ndarray) -> tuple[np.ndarray, int]:
    return ndimage.label(mask > 0)


def _one_roof(mask: np.ndarray) -> np.ndarray:
    """``mask`` with only its largest roof kept: one roof painted, the rest called background."""
    parts, count = _roofs(mask)
    sizes = ndimage.sum_labels(np.ones_like(parts), parts, index=range(1, count + 1))
    return (parts == 1 + int(np.argmax(sizes))).astype(np.uint8)


def test_a_run_worse_than_the_base_model_is_not_activated_and_the_page_says_why(app_server, page) -> None:
    project_dir = app_server["projects"] / "oam-sample"
    page.goto(f"{app_server['url']}/train?project=oam-sample", wait_until="domcontentloaded")
    page.get_by_text("Train · Real sample", exact=False).first.wait_for(timeout=120_000)
    with Project.open(project_dir) as project:  # the two tiles with most roofs "finished" after one roof each
        candidates = [r for r in project.tiles() if r.label_version == 0 and r.has_reference and r.split != "val"]
        busiest = sorted(candidates, key=lambda r: -_roofs(project.reference_mask(r.id))[1])[:2]
        for record in busiest:
            project.save_label(record.id, _one_roof(project.reference_mask(record.id)), 0, complete=True)
    page.reload(wait_until="domcontentloaded")
    page.get_by_text("labelled for training", exact=False).first.wait_for(timeout=60_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Profile").click()
    page.get_by_role("option", name="test ·", exact=False).click()
    # seconds of training from random weights: no model to trust over the base model
    page.get_by_test_id("stSelectbox").filter(has_text="Start from").click()
    page.get_by_role("option", name="scratch", exact=False).click()
    page.get_by_role("button", name="Start training").click()

    page.get_by_text("Finished, not activated:", exact=False).wait_for(timeout=180_000)
    warning = page.get_by_test_id("stAlert").filter(has_text="Finished, not activated").first.inner_text()
    assert "for the base model on your" in warning and "validation tiles" in warning, warning
    assert re.search(r"the gain is -0\.\d\d, its 95% interval", warning), warning  # a loss, said with its noise
    page.get_by_text("IoU: the base model", exact=False).first.wait_for(timeout=10_000)  # side by side
    gain = page.get_by_test_id("stMetricDelta").first
    assert "(not adopted)" in gain.inner_text(), gain.inner_text()
    page.get_by_role("button", name="Use this run's model").wait_for(timeout=10_000)
    page.get_by_test_id("stAlert").filter(has_text="Finished, not activated").first.scroll_into_view_if_needed()
    screenshot(page, "train-not-activated")

    runs = sorted((project_dir / "runs").iterdir())
    decision = json.loads((runs[-1] / "activation.json").read_text())
    assert decision["activated"] is False and decision["incumbent"] == "the base model"
    # truly worse: well below the base model on the same tiles, measured by the decision code itself
    assert decision["candidate_iou"] < 0.75 * decision["incumbent_iou"] and decision["gain_low"] < 0, decision
    with Project.open(project_dir) as project:
        assert active_model_setting(project) is None
