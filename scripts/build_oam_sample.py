"""Copy the deterministic real OpenAerialMap sample into ``assets/oam_sample/``.

Usage: ``.venv/bin/python scripts/build_oam_sample.py [--source ../shared/data/oam_buildings]``.
See ``pgssl_core/demo/oam_sample.py`` for how tiles are chosen.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without install

from pgssl_core.demo.oam_sample import OAM_SAMPLE_DIR, build_oam_sample  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "oam_buildings")
    parser.add_argument("--out", type=Path, default=OAM_SAMPLE_DIR)
    args = parser.parse_args()
    sample = build_oam_sample(args.source, args.out)
    counts = sample.groupby(["split"]).size().to_dict()
    print(f"wrote {len(sample)} tiles to {args.out}: {counts}; areas {sorted(sample['area'].unique())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
