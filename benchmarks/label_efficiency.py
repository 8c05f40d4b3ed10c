"""Label-efficiency study: test IoU/F1 of each method against the fraction of labelled training tiles.

Data: the fixed split of ``../shared/data/oam_buildings`` (``manifest.csv``): the ``train`` split is
the pool (a seeded ``fraction`` of it keeps its masks, the rest is the unlabelled pretraining pool;
at 100% the pretraining pool is the same, fully labelled pool), ``val`` selects the model (``best.pt``
of each run is the checkpoint with the best val IoU), ``test`` gives every reported figure.

Methods: ``supervised``, ``pgssl``, ``byol``, ``inpaint`` and the ablation ``pgssl_noconf`` (pgssl
without confidence weighting). When the profile has two or more rounds, every pgssl run also reports
``pgssl_r1``, its best model up to the end of round 1 (the rounds ablation, at no extra training).
One grid cell = (method, fraction, seed); a cell already in the CSV
(same method, fraction, seed, profile, pool limit and profile overrides) is not recomputed, and the CSV
is rewritten atomically after each cell, so the study can be stopped and restarted at any time.

Writes ``<out>/label_efficiency.csv`` (one row per cell), ``label_efficiency.md`` (mean +/- sample
standard deviation over seeds of test IoU and F1 per method x fraction, plus the settings) and
``label_efficiency.png`` (test IoU against label fraction, log x, one line per method).

    python benchmarks/label_efficiency.py                      # full grid (standard on GPU, quick on CPU)
    python benchmarks/label_efficiency.py --pool-limit 200 --val-limit 60 --test-limit 100   # reduced CPU grid
    python benchmarks/label_efficiency.py --smoke --out /tmp/le  # one tiny cell, well under a minute
    # two workers on a 2-core CPU, one thread each, sharing one results folder (rows merge under a lock):
    python benchmarks/label_efficiency.py --threads 1 --methods pgssl pgssl_noconf &
    python benchmarks/label_efficiency.py --threads 1 --methods supervised byol inpaint &
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import hashlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pgssl_core.errors import PgsslError  # noqa: E402
from pgssl_core.io import atomic_write_bytes, atomic_write_with  # noqa: E402
from pgssl_core.models import load_model  # noqa: E402
from pgssl_core.models.device import describe_device, prepare_module, resolve_device  # noqa: E402
from pgssl_core.models.init_model import BASE_MODEL_PATH  # noqa: E402
from pgssl_core.train import TrainConfig, TrainingData, load_folder, run_training, split_label_fraction  # noqa: E402
from pgssl_core.train.data import TensorSet  # noqa: E402
from pgssl_core.train.metrics import evaluate_tensors  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "oam_buildings"
DEFAULT_OUT = ROOT / "benchmarks" / "results"
DEFAULT_WORK = DEFAULT_OUT / "label_efficiency_runs"
FRACTIONS = (0.05, 0.1, 0.2, 0.5, 1.0)
METHODS = ("supervised", "pgssl", "byol", "inpaint", "pgssl_noconf", "supervised_base", "pgssl_base")
# Rows in the results: the grid's methods plus pgssl_r1, which comes out of each pgssl run (see run_cell).
REPORTED = ("supervised", "pgssl", "pgssl_r1", "pgssl_noconf", "byol", "inpaint", "supervised_base", "pgssl_base")
# Study method name -> (engine method, confidence weighting, starting point). Plain names start from
# scratch (random weights); "_base" ones from the shipped base model (which saw every train label: see
# the reading of these cells in docs/studies.md).
METHOD_SPECS: dict[str, tuple[str, bool, str]] = {
    "supervised": ("supervised", True, "scratch"), "pgssl": ("pgssl", True, "scratch"),
    "byol": ("byol", True, "scratch"), "inpaint": ("inpaint", True, "scratch"),
    "pgssl_noconf": ("pgssl", False, "scratch"), "supervised_base": ("supervised", True, "base"),
    "pgssl_base": ("pgssl", True, "base"),
}
COLUMNS = ("method", "fraction", "seed", "labelled", "unlabelled", "val_iou", "test_iou", "test_f1",
           "test_precision", "test_recall", "wall_s", "profile", "device", "pool_limit", "overrides", "profile_id",
           "base_id")
# profile_id fingerprints the resolved profile, so a cell is recomputed when a profile's values change;
# base_id (a hash of the shipped base model file, empty for runs from scratch) does the same when a new
# base model is shipped: only the cells that start from it are re-run.
KEY = ("method", "fraction", "seed", "profile", "pool_limit", "overrides", "profile_id", "base_id")
POOL_SEED = 0  # the pool/val/test subsets are fixed across cells; only the label split follows the seed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dataset folder with images/, masks/, manifest.csv")
    p.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS), help="label fractions of the pool")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--extra-seed-max-fraction", type=float, default=0.2,
                   help="seeds after the first run only for fractions <= this (the spec's 'seeds up to 20%%')")
    p.add_argument("--profile", default=None, help="training profile (default: standard on GPU, quick on CPU)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="profile override, value parsed as JSON when possible (repeatable), e.g. --set crop=64")
    p.add_argument("--pool-limit", type=int, default=None, help="seeded subset of the train pool (reduced grid)")
    p.add_argument("--val-limit", type=int, default=None, help="seeded subset of the val split")
    p.add_argument("--test-limit", type=int, default=None, help="seeded subset of the test split")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's; use 1 when the CPU is shared with other jobs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for label_efficiency.csv/.md/.png")
    p.add_argument("--work", type=Path, default=None, help="run folders (default <out>/label_efficiency_runs)")
    p.add_argument("--smoke", action="store_true",
                   help="one tiny cell (pgssl, 20%%, test profile, 16/8/8 tiles, 1 thread) to check the pipeline")
    args = p.parse_args(argv)
    if args.smoke:
        args.methods, args.fractions, args.seeds = ["pgssl"], [0.2], [0]
        args.profile = "test"
        args.pool_limit = args.pool_limit or 16
        args.val_limit = args.val_limit or 8
        args.test_limit = args.test_limit or 8
        # One thread: on a shared 2-core CPU, torch's default threads oversubscribe and a 4 s cell takes ~45 s.
        args.threads = args.threads or 1
        if args.out == DEFAULT_OUT:  # never mix smoke rows into the real results
            args.out = Path(tempfile.gettempdir()) / "pgssl_label_efficiency_smoke"
    if args.work is None:
        args.work = args.out / "label_efficiency_runs"
    return args


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["crop=64", "rounds=1"]`` -> ``{"crop": 64, "rounds": 1}`` (JSON values, else strings)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise PgsslError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def grid(methods: list[str], fractions: list[float], seeds: list[int],
         extra_max: float) -> list[tuple[str, float, int]]:
    """Cells (method, fraction, seed): the first seed everywhere, further seeds for fractions <= ``extra_max``."""
    cells = []
    for fraction in sorted(fractions):
        for i, seed in enumerate(seeds):
            if i > 0 and fraction > extra_max + 1e-9:
                continue
            cells += [(m, fraction, seed) for m in methods]
    return cells


def base_model_id() -> str:
    """First 10 hex digits of the shipped base model's SHA-256 (the value in its model card)."""
    return hashlib.sha256(BASE_MODEL_PATH.read_bytes()).hexdigest()[:10]


def cell_base_id(method: str, base_id: str) -> str:
    """``base_id`` for methods that start from the base model, "" for those from scratch."""
    return base_id if METHOD_SPECS[method][2] == "base" else ""


def cell_key(row: dict[str, Any]) -> tuple[str, ...]:
    """Identity of a cell in the CSV (string-normalised so that rows read back compare equal)."""
    norm = {**row, "fraction": f"{float(row['fraction']):g}", "seed": str(int(row["seed"])),
            "pool_limit": "" if row["pool_limit"] in (None, "") else str(int(row["pool_limit"]))}
    return tuple(str(norm.get(k) or "") for k in KEY)


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> None:
    """Rewrite the whole CSV atomically (a crash never leaves half a file)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def merge_rows(path: Path, new: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[str, ...]],
               columns: tuple[str, ...] = COLUMNS) -> list[dict[str, str]]:
    """Add ``new`` rows to the CSV on disk (a row with the same ``key`` is replaced) and return all rows.

    Read-merge-write happens under an exclusive lock, so several workers (e.g. ``--threads 1`` each,
    with different ``--methods``) can share one results folder without losing each other's rows.
    """
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fresh = {key(r): {k: str(v) for k, v in r.items()} for r in new}
        rows = [r for r in read_rows(path) if key(r) not in fresh] + list(fresh.values())
        write_rows(path, rows, columns)
    return rows


def profile_fingerprint(profile: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(10-hex-digit id, values) of the profile a cell trains with, overrides applied."""
    # The flat names: a cell's id stays the one it had before profiles were nested.
    values = TrainConfig(profile=profile, profile_overrides=dict(overrides)).resolved_profile().flat_dict()
    text = json.dumps(values, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:10], values


SUMMARY_FIELDS = ("encoder", "gsd_m", "crop", "batch_size", "teacher_steps", "pretrain_steps", "finetune_steps",
                  "supervised_steps", "rounds", "lr", "pretrain_lr", "finetune_lr", "task_weights", "task_schedule",
                  "pseudo_threshold", "class_balance", "inpaint_block", "inpaint_ratio", "transfer_decoder")


def profile_summary(values: dict[str, Any]) -> str:
    """The values of a profile that a reader of the results needs, as ``key=value`` text."""
    return ", ".join(f"{k}={json.dumps(values[k])}" for k in SUMMARY_FIELDS if k in values)


def load_split(data: Path, split: str, limit: int | None, gsd_m: float | None = None) -> list[dict[str, Any]]:
    """A split's tiles with masks, resampled to the working GSD ``gsd_m`` (None: native)."""
    return load_folder(data / "images", data / "masks", data / "manifest.csv", split, limit, POOL_SEED,
                       working_gsd_m=gsd_m)


def _figures(path: Path, test: TensorSet | None, device: str) -> dict[str, Any]:
    """Val IoU stored with a saved model and, when ``test`` is given, its test figures."""
    dev = resolve_device(device)
    model, mcfg, meta = load_model(path, dev)
    val_iou = (meta.get("val") or {}).get("iou", float("nan"))
    out: dict[str, Any] = {"val_iou": round(float(val_iou), 5)}
    if test is not None:
        figures = evaluate_tensors(prepare_module(model, dev), mcfg, test, dev)
        out.update({f"test_{k}": round(figures[k], 5) for k in ("iou", "f1", "precision", "recall")})
    return out


def run_cell(method: str, fraction: float, seed: int, pool: list, val: list, test: TensorSet | None, profile: str,
             overrides: dict[str, Any], device: str, run_dir: Path) -> dict[str, dict[str, Any]]:
    """Train one cell into ``run_dir`` (deleted first: a leftover is a crashed cell) and evaluate it.

    Returns study method -> figures. A ``pgssl`` run with two or more rounds also yields ``pgssl_r1``:
    the best model on val up to the end of round 1, which is exactly what a one-round run with the same
    seed would have chosen (stages run in order on one random generator), so the rounds ablation costs
    no extra training. With ``test=None`` (tuning) only val figures are computed.
    """
    if run_dir.exists():
        shutil.rmtree(run_dir)
    labelled, unlabelled = split_label_fraction(pool, fraction, seed)
    if fraction >= 1.0:  # 100%: the pretraining pool is the same pool, all labelled
        unlabelled = []
    engine_method, conf, init = METHOD_SPECS[method]
    config = TrainConfig(method=engine_method, profile=profile, seed=seed, device=device, confidence_weighting=conf,
                         profile_overrides=dict(overrides), init=init)
    gsd = config.resolved_profile().augment.gsd_m
    result = run_training(TrainingData(labelled, unlabelled, val, gsd_m=gsd), config, run_dir)
    common = {"labelled": len(labelled), "unlabelled": len(unlabelled), "wall_s": round(result.wall_s, 1),
              "device": result.device}
    out = {method: {**common, **_figures(result.selected_path, test, device)}}  # best.pt: best val IoU
    round1 = run_dir / "stages" / "r1-best.pt"
    if method == "pgssl" and config.resolved_profile().stages.rounds >= 2 and round1.is_file():
        out["pgssl_r1"] = {**common, **_figures(round1, test, device)}
    return out


def summarise(rows: list[dict[str, str]]) -> dict[tuple[str, float], dict[str, tuple[float, float, int]]]:
    """(method, fraction) -> {"test_iou"/"test_f1": (mean, sample sd or 0 with one seed, n)}."""
    groups: dict[tuple[str, float], list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault((r["method"], float(r["fraction"])), []).append(r)
    out = {}
    for key, group in groups.items():
        stats = {}
        for col in ("test_iou", "test_f1"):
            vals = [float(r[col]) for r in group]
            sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
            stats[col] = (statistics.fmean(vals), sd, len(vals))
        out[key] = stats
    return out


def _cell_text(stat: tuple[float, float, int] | None) -> str:
    if stat is None:
        return "-"
    mean, sd, n = stat
    return f"{mean:.3f} ± {sd:.3f} (n={n})" if n > 1 else f"{mean:.3f} (n=1)"


def paired_differences(rows: list[dict[str, str]], method: str, reference: str) -> dict[float, list[float]]:
    """Fraction -> [test IoU of ``method`` - test IoU of ``reference``] over the seeds both have.

    Cells with the same fraction and seed share their labelled tiles, so the paired difference removes
    the (large) part of the seed noise that comes from which tiles were labelled.
    """
    iou = {(r["method"], float(r["fraction"]), r["seed"]): float(r["test_iou"]) for r in rows}
    out: dict[float, list[float]] = {}
    for (m, f, seed), value in iou.items():
        if m == method and (reference, f, seed) in iou:
            out.setdefault(f, []).append(value - iou[(reference, f, seed)])
    return out


def paired_lines(rows: list[dict[str, str]], methods: list[str], fractions: list[float]) -> list[str]:
    """Markdown table of paired test-IoU differences against ``supervised`` (and pgssl's ablations)."""
    pairs = [(m, "supervised") for m in methods if m != "supervised"]
    pairs += [(m, ref) for m, ref in (("pgssl", "pgssl_noconf"), ("pgssl", "pgssl_r1"),
                                      ("pgssl_base", "supervised_base"), ("pgssl_base", "pgssl"))
              if m in methods and ref in methods]
    lines = ["## Paired test-IoU differences", "", "Same fraction and seed = same labelled tiles; mean of the "
             "differences (n = seeds).", "", "| difference | " + " | ".join(f"{f:.0%}" for f in fractions) + " |",
             "|---|" + "---|" * len(fractions)]
    for m, ref in pairs:
        diffs = paired_differences(rows, m, ref)
        cells = [f"{statistics.fmean(diffs[f]):+.3f} (n={len(diffs[f])})" if f in diffs else "-" for f in fractions]
        lines.append(f"| {m} - {ref} | " + " | ".join(cells) + " |")
    return lines + [""]


def seeds_by_fraction(rows: list[dict[str, str]]) -> str:
    """"5%: 0, 1; 100%: 0" - the seeds the rows hold per fraction (workers may have added seeds)."""
    seeds: dict[float, set[int]] = {}
    for r in rows:
        seeds.setdefault(float(r["fraction"]), set()).add(int(r["seed"]))
    return "; ".join(f"{f:.0%}: {', '.join(map(str, sorted(s)))}" for f, s in sorted(seeds.items()))


def write_markdown(path: Path, rows: list[dict[str, str]], settings: dict[str, Any]) -> None:
    summary = summarise(rows)
    methods = [m for m in REPORTED if any(k[0] == m for k in summary)]
    fractions = sorted({k[1] for k in summary})
    lines = ["# Label efficiency", "", "Test-split figures of the building class (mean ± sample standard deviation "
             "over seeds; n = seeds). Model selection on the val split only.", ""]
    for col, title in (("test_iou", "Test IoU"), ("test_f1", "Test F1")):
        lines += [f"## {title}", "", "| method | " + " | ".join(f"{f:.0%}" for f in fractions) + " |",
                  "|---|" + "---|" * len(fractions)]
        for m in methods:
            lines.append(f"| {m} | " + " | ".join(_cell_text(summary.get((m, f), {}).get(col)) for f in fractions)
                         + " |")
        lines.append("")
    lines += paired_lines(rows, methods, fractions)
    trained = [r for r in rows if r["method"] in METHODS]  # pgssl_r1 rows share their pgssl run
    total_wall = sum(float(r["wall_s"]) for r in trained)
    lines += ["## Settings", ""] + [f"- {k}: {v}" for k, v in settings.items() if k != "reduction"]
    lines += [f"- training runs: {len(trained)}, sum of their wall times: {total_wall / 60:.1f} min", ""]
    if settings.get("reduction"):
        lines += [f"**Reduced grid:** {settings['reduction']}", ""]
    atomic_write_bytes(path, "\n".join(lines).encode())


def write_plot(path: Path, rows: list[dict[str, str]], title: str) -> None:
    """Test IoU against label fraction (log x), mean with sample-sd error bars, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(rows)
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for m in REPORTED:
        pts = sorted((f, s["test_iou"]) for (mm, f), s in summary.items() if mm == m)
        if not pts:
            continue
        xs = [f * 100 for f, _ in pts]
        ax.errorbar(xs, [s[0] for _, s in pts], yerr=[s[1] for _, s in pts], marker="o", capsize=3, label=m)
    ax.set_xscale("log")
    fr = sorted({f for _, f in summary})
    ax.set_xticks([f * 100 for f in fr], [f"{f:.0%}" for f in fr])
    ax.minorticks_off()
    ax.set_xlabel("labelled fraction of the train pool")
    ax.set_ylabel("test IoU (building)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write_with(path, lambda p: fig.savefig(p))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return _run(args)
    except PgsslError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    profile = args.profile or ("standard" if device.type == "cuda" else "quick")
    overrides = parse_overrides(args.overrides)
    overrides_text = json.dumps(overrides, sort_keys=True) if overrides else ""
    profile_id, profile_values = profile_fingerprint(profile, overrides)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "label_efficiency.csv"
    rows = read_rows(csv_path)
    done = {cell_key(r) for r in rows}

    t0 = time.time()
    gsd = profile_values.get("gsd_m")
    pool = load_split(args.data, "train", args.pool_limit, gsd)
    val = load_split(args.data, "val", args.val_limit, gsd)
    test = TensorSet.from_samples(load_split(args.data, "test", args.test_limit, gsd))
    print(f"data: pool {len(pool)}, val {len(val)}, test {len(test)} tiles ({time.time() - t0:.1f}s); "
          f"device {describe_device(device)}; profile {profile}", flush=True)

    base_id = base_model_id()
    cells = grid(args.methods, args.fractions, args.seeds, args.extra_seed_max_fraction)
    pool_limit = "" if args.pool_limit is None else str(args.pool_limit)
    for i, (method, fraction, seed) in enumerate(cells, 1):
        ident = {"method": method, "fraction": fraction, "seed": seed, "profile": profile,
                 "pool_limit": pool_limit, "overrides": overrides_text, "profile_id": profile_id,
                 "base_id": cell_base_id(method, base_id)}
        head = f"[{i}/{len(cells)}] {method:<12} fraction {fraction:<5g} seed {seed}"
        if cell_key(ident) in done:
            print(f"{head}: skip (already in {csv_path.name})", flush=True)
            continue
        run_dir = args.work / f"{profile}-p{pool_limit or 'all'}" / f"{method}-f{fraction:g}-s{seed}"
        results = run_cell(method, fraction, seed, pool, val, test, profile, overrides, args.device, run_dir)
        new = [{**ident, "method": name, "fraction": f"{fraction:g}", **figures} for name, figures in results.items()]
        for row in new:
            done.add(cell_key(row))
            print(f"{head}: {row['method']} test IoU {row['test_iou']:.3f} F1 {row['test_f1']:.3f} "
                  f"(val IoU {row['val_iou']:.3f}) wall {row['wall_s']:.0f}s", flush=True)
        rows = merge_rows(csv_path, new, cell_key)

    # Report only the rows of this configuration (the CSV may also hold other profiles / pool limits).
    mine = [r for r in rows if r["profile"] == profile and r["pool_limit"] == pool_limit
            and r.get("overrides", "") == overrides_text and r.get("profile_id", "") == profile_id
            and r.get("base_id", "") == cell_base_id(r["method"].removesuffix("_r1"), base_id)]
    reduction = []
    if args.pool_limit is not None:
        reduction.append(f"train pool limited to a seeded {args.pool_limit} tiles")
    if args.val_limit is not None:
        reduction.append(f"val limited to {args.val_limit} tiles")
    if args.test_limit is not None:
        reduction.append(f"test limited to {args.test_limit} tiles")
    if overrides:
        reduction.append(f"profile overrides {overrides_text}")
    settings = {"data": args.data.name, "profile": profile, "device": describe_device(device),
                "pool / val / test tiles": f"{len(pool)} / {len(val)} / {len(test)}",
                "seeds (in the results)": seeds_by_fraction(mine),
                "profile values": profile_summary(profile_values),
                "reduction": "; ".join(reduction) + " (the full grid uses the whole splits)" if reduction else ""}
    if mine:
        write_markdown(args.out / "label_efficiency.md", mine, settings)
        write_plot(args.out / "label_efficiency.png", mine,
                   f"{args.data.name}: profile {profile}, {len(pool)} pool tiles, {device.type}")
    print(f"wrote {csv_path}, label_efficiency.md, label_efficiency.png in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
