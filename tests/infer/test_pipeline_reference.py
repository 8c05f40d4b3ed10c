"""The one prediction pipeline writes the bytes the three old routes wrote (commit 3aa28e0's ``predict``).

Inputs and commands: ``tests/infer/pipeline_cases.py``; the old outputs' SHA-256: ``data/pipeline_reference.json``.
The window is given as ``--window`` in one case and by its deprecated name ``--tile`` in the others. The app's
route (``predict_project``) is checked against the command on the same tile in ``tests/project/test_predict.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgssl_core.cli import main
from tests.infer.pipeline_cases import CASES, REFERENCE, command, digests, make_input


@pytest.mark.parametrize("case", sorted(CASES))
def test_predict_writes_the_reference_bytes(case: str, tmp_path: Path) -> None:
    src = make_input(case, tmp_path / "inputs")
    out = tmp_path / case
    assert main(command(case, src, out, "--window" if case == "dense" else "--tile")) == 0
    assert digests(out) == json.loads(REFERENCE.read_text(encoding="utf-8"))[case]
