"""Turn a finished base-model run into the shipped file ``assets/models/base_building.pt``.

Takes the run's selected model (``best.pt``: best val IoU over all stages), stores its floating-point
weights as float16 (half the size; ``load_model`` casts them back to float32 on load) and prints the
file's SHA-256 for the model card (``assets/models/README.md``).

    .venv/bin/python scripts/ship_base_model.py --run ~/runs/base_v1
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgssl_core.io import atomic_write_bytes  # noqa: E402
from pgssl_core.models.init_model import BASE_MODEL_PATH  # noqa: E402
from pgssl_core.models.model_file import FORMAT  # noqa: E402
from pgssl_core.train.rounds import run_model_path  # noqa: E402


def half_precision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Floating tensors as float16 (integer buffers such as ``num_batches_tracked`` unchanged)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--run", type=Path, required=True, help="finished run folder (holds model.pt and best.pt)")
    p.add_argument("--out", type=Path, default=BASE_MODEL_PATH)
    args = p.parse_args(argv)
    source = run_model_path(args.run)
    if source is None:
        print(f"error: {args.run} has not finished (no model.pt)", file=sys.stderr)
        return 2
    data = torch.load(source, map_location="cpu", weights_only=True)
    assert data.get("format") == FORMAT, f"{source} is not a pgssl model file"
    meta = {k: v for k, v in data["meta"].items() if k in ("val", "stage", "round", "step")}
    meta.update({"name": "base building model", "source_run": args.run.name, "storage": "float16"})
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "config": data["config"], "state_dict": half_precision(data["state_dict"]),
                "meta": meta}, buffer)
    atomic_write_bytes(args.out, buffer.getvalue())
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.2f} MB from {source.name}; sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
