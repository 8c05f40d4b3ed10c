"""Tune the training defaults on the val split only: one-factor-at-a-time candidates around a base.

Each candidate is a set of profile overrides on top of the base (``--profile`` plus ``--set``). Every
candidate trains ``pgssl`` at one label fraction for each seed on the fixed split of
``../shared/data/oam_buildings`` and is scored by the val IoU of its selected model (``best.pt``); the
test split is never loaded. A two-round run also scores ``rounds=1`` for free (``pgssl_r1``, see
``label_efficiency.run_cell``). The CSV is resumable like the study's: a finished (candidate, seed) is
not recomputed.

Writes ``<out>/tuning.csv`` (one row per candidate x seed) and ``tuning.md`` (candidates ranked by mean
val IoU, with the difference to the base and the seed spread).

    python benchmarks/tune_defaults.py --pool-limit 100 --val-limit 40 --threads 1
    python benchmarks/tune_defaults.py --candidates base threshold_0.5 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

import label_efficiency as study  # noqa: E402

from pgssl_core.io import atomic_write_bytes  # noqa: E402

# name -> overrides on top of the base. One factor at a time: the base is the reference for each.
CANDIDATES: dict[str, dict[str, Any]] = {
    "base": {},
    "encoder_only_transfer": {"transfer_decoder": False},
    "threshold_0.5": {"pseudo_threshold": 0.5},
    "lr_1e-3": {"lr": 1e-3},
    "threshold_0.9": {"pseudo_threshold": 0.9},
    "no_class_balance": {"class_balance": False},
    "alternate_schedule": {"task_schedule": "alternate"},
    "seg_weight_2": {"task_weights": {"seg": 2.0, "byol": 1.0, "inpaint": 1.0}},
    "ssl_weights_0.25": {"task_weights": {"seg": 1.0, "byol": 0.25, "inpaint": 0.25}},
    "mask_16px_25pct": {"inpaint_block": 16, "inpaint_ratio": 0.25},
    "lr_4e-3": {"lr": 4e-3},
    "pretrain_lr_5e-4": {"pretrain_lr": 5e-4},
    "finetune_lr_5e-4": {"finetune_lr": 5e-4},
    "steps_x1.5": {"scale_steps": 1.5},
    # Second pass, after lr 1e-3 won the first one: factors on top of it.
    "lr_1e-3+no_class_balance": {"lr": 1e-3, "class_balance": False},
    "lr_1e-3+alternate": {"lr": 1e-3, "task_schedule": "alternate"},
    "lr_1e-3+alternate+encoder_only": {"lr": 1e-3, "task_schedule": "alternate", "transfer_decoder": False},
    "lr_1e-3+finetune_lr_3e-4": {"lr": 1e-3, "finetune_lr": 3e-4},
    "lr_5e-4": {"lr": 5e-4},
}
STEP_FIELDS = ("teacher_steps", "pretrain_steps", "finetune_steps")
COLUMNS = ("candidate", "method", "seed", "fraction", "val_iou", "wall_s", "profile", "base", "overrides")


def resolve(candidate: dict[str, Any], base: dict[str, Any], profile: str) -> dict[str, Any]:
    """Base overrides + the candidate's; ``scale_steps`` multiplies the (base) step counts."""
    from pgssl_core.train.profiles import get_profile

    merged = {**base, **{k: v for k, v in candidate.items() if k != "scale_steps"}}
    factor = candidate.get("scale_steps")
    if factor:
        resolved = get_profile(profile, **merged)
        merged.update({f: int(round(resolved.flat_value(f) * factor)) for f in STEP_FIELDS})
    return merged


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=study.DEFAULT_DATA)
    p.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument("--fraction", type=float, default=0.2, help="label fraction of the pool")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--profile", default="quick")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="base profile override (repeatable), as in label_efficiency.py")
    p.add_argument("--pool-limit", type=int, default=None)
    p.add_argument("--val-limit", type=int, default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", type=Path, default=study.DEFAULT_OUT)
    p.add_argument("--work", type=Path, default=None, help="run folders (default <out>/tuning_runs)")
    args = p.parse_args(argv)
    args.work = args.work or args.out / "tuning_runs"
    return args


def summarise(rows: list[dict[str, str]]) -> list[tuple[str, float, float, int]]:
    """(candidate, mean val IoU, sample sd, n) ranked best first."""
    groups: dict[str, list[float]] = {}
    for r in rows:
        groups.setdefault(r["candidate"], []).append(float(r["val_iou"]))
    out = [(c, statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v)) for c, v in groups.items()]
    return sorted(out, key=lambda t: -t[1])


def write_markdown(path: Path, rows: list[dict[str, str]], settings: dict[str, Any]) -> None:
    """One line per candidate, ranked by mean val IoU after all rounds, with its round-1 score beside it."""
    ranked = [t for t in summarise(rows) if not t[0].endswith("+r1")]
    after_r1 = {c.removesuffix("+r1"): m for c, m, _, _ in summarise(rows) if c.endswith("+r1")}
    base = next((m for c, m, _, _ in ranked if c == "base"), None)
    lines = ["# Tuning on val", "", "Mean val IoU of the model each run selects (best.pt), over seeds; test data "
             "never used. 'after round 1' is the same runs' best model up to the end of round 1. The base is the "
             "profile as it stood when the rows were computed (plus the base overrides); `tuning.csv` lists each "
             "row's overrides.", "",
             "| candidate | val IoU | ± sd | n | vs base | after round 1 | overrides |",
             "|---|---|---|---|---|---|---|"]
    for cand, mean, sd, n in ranked:
        delta = "" if base is None else f"{mean - base:+.3f}"
        r1 = f"{after_r1[cand]:.3f}" if cand in after_r1 else "-"
        lines.append(f"| {cand} | {mean:.3f} | {sd:.3f} | {n} | {delta} | {r1} | "
                     f"`{json.dumps(CANDIDATES.get(cand, {}), sort_keys=True)}` |")
    lines += ["", "## Settings", ""] + [f"- {k}: {v}" for k, v in settings.items()]
    total = sum(float(r["wall_s"]) for r in rows if r["method"] == "pgssl")
    lines += [f"- runs: {sum(1 for r in rows if r['method'] == 'pgssl')}, sum of their wall times "
              f"{total / 60:.1f} min", ""]
    atomic_write_bytes(path, "\n".join(lines).encode())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    base = study.parse_overrides(args.overrides)
    base_text = json.dumps(base, sort_keys=True)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "tuning.csv"
    rows = study.read_rows(csv_path)
    t0 = time.time()
    gsd = study.profile_fingerprint(args.profile, base)[1].get("gsd_m")  # tiles at the profile's working GSD
    pool = study.load_split(args.data, "train", args.pool_limit, gsd)
    val = study.load_split(args.data, "val", args.val_limit, gsd)
    print(f"data: pool {len(pool)}, val {len(val)} ({time.time() - t0:.1f}s); base {base_text}", flush=True)

    def key(r: dict[str, Any]) -> tuple[str, ...]:
        return (r["candidate"], r["method"], str(r["seed"]), f"{float(r['fraction']):g}", r["profile"], r["base"])

    done = {key(r) for r in rows}
    for cand in args.candidates:
        overrides = resolve(CANDIDATES[cand], base, args.profile)
        for seed in args.seeds:
            ident = {"candidate": cand, "method": "pgssl", "seed": seed, "fraction": args.fraction,
                     "profile": args.profile, "base": base_text}
            if key(ident) in done:
                print(f"{cand} seed {seed}: skip (done)", flush=True)
                continue
            run_dir = args.work / f"{cand}-f{args.fraction:g}-s{seed}"
            results = study.run_cell("pgssl", args.fraction, seed, pool, val, None, args.profile, overrides,
                                     args.device, run_dir)
            new = [{**ident, "candidate": cand if method == "pgssl" else f"{cand}+r1", "method": method,
                    "fraction": f"{args.fraction:g}", "val_iou": figures["val_iou"], "wall_s": figures["wall_s"],
                    "overrides": json.dumps(overrides, sort_keys=True)} for method, figures in results.items()]
            for row in new:
                done.add(key(row))
                print(f"{row['candidate']} seed {seed}: val IoU {row['val_iou']:.3f} wall {row['wall_s']:.0f}s",
                      flush=True)
            rows = study.merge_rows(csv_path, new, key, COLUMNS)
    mine = [r for r in rows if r["profile"] == args.profile and r["base"] == base_text
            and f"{float(r['fraction']):g}" == f"{args.fraction:g}"]
    settings = {"profile": args.profile, "base overrides": base_text, "fraction": args.fraction,
                "seeds": args.seeds, "pool / val tiles": f"{len(pool)} / {len(val)}",
                "device": study.describe_device(study.resolve_device(args.device))}
    if mine:
        write_markdown(args.out / "tuning.md", mine, settings)
    print(f"wrote {csv_path} and tuning.md", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
