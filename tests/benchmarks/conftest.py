"""Fixtures for the benchmark-script tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "label_efficiency.py"


@pytest.fixture
def label_efficiency_script() -> Path:
    """Path of ``benchmarks/label_efficiency.py``."""
    return SCRIPT
