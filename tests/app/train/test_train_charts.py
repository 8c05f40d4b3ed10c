"""Train page charts and tables (issue 16, item 11): step axes from 0, a single validation visible as a
point, "—" instead of "None" in the run history."""

from __future__ import annotations

import pandas as pd

from app import train_charts


def test_step_axes_start_at_zero_and_one_validation_is_a_point() -> None:
    vals = pd.DataFrame({"step": [4], "round": [1], "stage": ["teacher"], "iou": [0.42]})
    spec = train_charts.val_chart(vals).to_dict()
    assert spec["encoding"]["x"]["scale"] == {"domainMin": 0, "nice": False}
    assert spec["mark"]["point"] and spec["encoding"]["y"]["scale"]["domain"] == [0, 1]
    losses = pd.DataFrame({"step": [1, 2], "stage": ["teacher"] * 2, "task": ["seg"] * 2, "loss": [0.9, 0.7]})
    spec = train_charts.loss_chart(losses).to_dict()
    assert spec["encoding"]["x"]["scale"]["domainMin"] == 0
    assert spec["encoding"]["color"]["field"] == "series"
