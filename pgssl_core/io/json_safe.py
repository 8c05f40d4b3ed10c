"""Strict JSON: the non-finite floats that :mod:`json` would write as ``NaN``/``Infinity`` become ``null``.

Python's :func:`json.dumps` writes ``NaN`` by default, which is not JSON (RFC 8259, section 6): browsers'
``JSON.parse`` and most other readers reject the whole file. Figures that are unknown (an interval from one
tile, a loss that diverged) are therefore written as ``null``.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """A copy of ``value`` with every non-finite float (NaN, +/-inf) replaced by None, recursively.

    Args:
        value: a float, or dicts, lists and tuples of them (tuples come back as lists); anything else is
            returned as it is.

    Returns:
        The cleaned copy, ready for :func:`json.dumps` or :func:`~pgssl_core.io.atomic_write_json`.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
