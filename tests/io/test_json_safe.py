"""Strict JSON: unknown figures (NaN, infinities) are written as null, everything else as it is."""

from __future__ import annotations

import json
import math

from pgssl_core.io import json_safe


def test_non_finite_floats_become_null_at_any_depth():
    value = {"iou": math.nan, "rows": [1.5, math.inf, (-math.inf, 2)], "name": "run", "n": 3, "ok": None}
    clean = json_safe(value)
    assert clean == {"iou": None, "rows": [1.5, None, [None, 2]], "name": "run", "n": 3, "ok": None}
    assert json.loads(json.dumps(clean, allow_nan=False)) == clean  # valid JSON (RFC 8259 has no NaN)
    assert math.isnan(value["iou"])  # the input is left as it was


def test_finite_values_pass_through_unchanged():
    assert json_safe(0.25) == 0.25 and json_safe("NaN") == "NaN" and json_safe([]) == []
