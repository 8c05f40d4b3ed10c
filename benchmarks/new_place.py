"""New-place benchmark: what a user gets on imagery the base model has never seen (the README's headline table).

Sets (never used to train the shipped base model):
- ``kathmandu``: ``../shared/data/kathmandu_oam``, drone tiles of Kathmandu named by their XYZ address (8 zoom-19
  ground spots, each with its zoom-20 and zoom-21 children). The unit of the split is the zoom-19 spot, so no
  ground is shared between the labelled, validation and test tiles.
- ``dubai``: ``../shared/data/dubai_satellite``, ~1 m satellite tiles without georeference (read as 1.0 m, the
  CLI's ``--tile-gsd 1.0``). Only its 58 ``per-building`` tiles have masks that outline roofs: they give the
  labelled, validation and test tiles; every other tile of the set is unlabelled pool. The unit of the split
  is the source image part (18 parts), since the set's edge-aligned windows overlap their neighbours.

Split of a set (:func:`split_set`, deterministic): the test groups are drawn once with :data:`TEST_SEED`, the
same for every seed and row, so rows are paired; then, per seed, the validation tiles (``VAL_TILES``, whole
groups, the rest of a validation group is left out) and a seeded order of the remaining labelled candidates.
A row with ``n`` labels labels the first ``n`` of that order (5 labels are a subset of 20, which are a subset
of all); every other tile of the set that is not test or validation is the unlabelled pool. Test tiles are
never seen by any step.

Rows (``--methods``): ``zero_shot`` (the base model, no labels), ``adapt_bn`` (the base model with BatchNorm
statistics re-estimated on the user's unlabelled tiles, no labels; see ``pgssl_core.models.adapt_bn``),
``supervised`` and ``pgssl`` (the product's training flow from the base model, profile ``quick`` unless
``--profile``; ``--budget-min`` gives each run a time budget), and ``oracle``: the same supervised flow trained
on the test tiles' own labels and scored on them. The oracle is no user's result; it is the ceiling that the
reference masks allow this network in this budget (the Kathmandu masks are OpenStreetMap polygons, offset from
the roofs in places and missing some roofs, so no model scores near 1.0 on them). Columns: IoU, precision,
recall on the test tiles (pooled pixels), wall time, CPU threads. A cell already in the CSV (same key, same
profile values and base model) is not recomputed, so the benchmark can be stopped and restarted.

    .venv/bin/python benchmarks/new_place.py --threads 1 --sets kathmandu dubai --methods zero_shot adapt_bn
    .venv/bin/python benchmarks/new_place.py --threads 1 --methods supervised pgssl --labels 20 --seeds 0 1 2
    .venv/bin/python benchmarks/new_place.py --smoke --out /tmp/np   # a tiny real cell, under a minute

Writes ``<out>/new_place.csv`` (one row per cell) and ``<out>/new_place.md`` (mean +/- sd over seeds).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rasterio.crs import CRS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from label_efficiency import merge_rows, parse_overrides, profile_fingerprint, read_rows  # noqa: E402

from pgssl_core.models import load_model  # noqa: E402
from pgssl_core.models.device import prepare_module, resolve_device  # noqa: E402
from pgssl_core.models.init_model import BASE_MODEL_PATH  # noqa: E402
from pgssl_core.tiles.georef import parse_xyz_name, xyz_transform  # noqa: E402
from pgssl_core.tiles.gsd import ground_gsd_m, suggested_working_gsd  # noqa: E402
from pgssl_core.train import TrainConfig, TrainingData, load_folder, run_training  # noqa: E402
from pgssl_core.train.data import Sample, TensorSet  # noqa: E402
from pgssl_core.train.metrics import evaluate_tensors  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
TEST_SEED = 0  # the test tiles of a set are the same for every seed and row (paired comparisons)
VAL_TILES = 5
METHODS = ("zero_shot", "adapt_bn", "supervised", "pgssl", "oracle")
TRAINED = ("supervised", "pgssl", "oracle")
COLUMNS = ("set", "method", "labels", "seed", "labelled", "pool", "val", "test", "val_iou", "test_iou",
           "test_precision", "test_recall", "wall_s", "steps", "threads", "budget_s", "profile", "overrides",
           "profile_id", "base_id", "pool_limit", "device", "gsd_m")
KEY = ("set", "method", "labels", "seed", "budget_s", "profile", "overrides", "profile_id", "base_id", "pool_limit",
       "gsd_m")


@dataclass(frozen=True)
class PlaceSet:
    """A new-place data set: where its tiles are, which of them may be labelled, and how they group.

    ``candidates``: names of the tiles with roof-outline masks (labelled, validation and test come from
    them); ``others``: names of the remaining tiles (always unlabelled pool); ``group``: name -> the ground
    unit no two parts of the split may share; ``tile_gsd_m``: the GSD stated for tiles without a
    georeference (None: read from the tiles); ``test_share``: the fraction of groups held out for test.
    """

    name: str
    folder: Path
    candidates: tuple[str, ...]
    others: tuple[str, ...]
    tile_gsd_m: float | None
    test_share: float
    xyz_groups: bool

    def group(self, name: str) -> str:
        """The zoom-19 spot of an XYZ tile name ("x/y" of its zoom-19 ancestor); otherwise the source scene
        part of a Dubai tile name (``dubai_t1_p003`` of ``dubai_t1_p003_y0256_x0512.png``): the set's
        edge-aligned windows overlap their neighbours, so tiles of one part must stay together."""
        if not self.xyz_groups:
            return name.split("_y")[0]
        zxy = parse_xyz_name(name)
        if zxy is None:
            raise ValueError(f"{name} is not an XYZ tile name")
        z, x, y = zxy
        shift = max(0, z - 19)
        return f"{x >> shift}/{y >> shift}"


@dataclass(frozen=True)
class Split:
    """Tile names of one seed's split: ``order`` lists the labelled candidates (label the first n)."""

    test: tuple[str, ...]
    val: tuple[str, ...]
    order: tuple[str, ...]
    others: tuple[str, ...]

    def labelled(self, n: int | None) -> list[str]:
        """The first ``n`` candidates in the seed's order (all of them for None)."""
        return list(self.order if n is None else self.order[:n])

    def pool(self, n: int | None) -> list[str]:
        """The unlabelled pool of a row with ``n`` labels: every non-test, non-validation tile not labelled."""
        return self.labelled_rest(n) + list(self.others)

    def labelled_rest(self, n: int | None) -> list[str]:
        """Candidates left unlabelled by a row with ``n`` labels."""
        return [] if n is None else list(self.order[n:])


def place_sets(shared: Path = SHARED) -> dict[str, PlaceSet]:
    """The two new-place sets of ``shared`` (the shared data folder)."""
    kat = shared / "kathmandu_oam"
    with open(kat / "manifest.csv", newline="") as handle:
        kat_names = tuple(sorted(r["file"] for r in csv.DictReader(handle)))
    dub = shared / "dubai_satellite"
    with open(dub / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    roofs = tuple(sorted(f"{r['stem']}.png" for r in rows if r["label_style"] == "per-building"))
    rest = tuple(sorted(f"{r['stem']}.png" for r in rows if r["label_style"] != "per-building"))
    return {
        # 8 spots: 3 held out for test (63 tiles), one gives the 5 validation tiles, 4 are labelled/pool.
        "kathmandu": PlaceSet("kathmandu", kat, kat_names, (), None, 3 / 8, True),
        # 58 roof-outline tiles in 18 image parts: half the parts held out for test, 5 tiles validate.
        "dubai": PlaceSet("dubai", dub, roofs, rest, 1.0, 0.5, False),
    }


def _seeded_order(items: Sequence[str], seed: int) -> list[str]:
    perm = torch.randperm(len(items), generator=torch.Generator().manual_seed(seed)).tolist()
    return [items[i] for i in perm]


def _zoom_then_name(name: str) -> tuple[int, str]:
    zxy = parse_xyz_name(name)
    return (zxy[0] if zxy else 0, name)


def split_set(place: PlaceSet, seed: int) -> Split:
    """The deterministic split of ``place`` for ``seed`` (see the module docstring).

    Test: whole groups drawn with :data:`TEST_SEED` until ``test_share`` of the groups. Validation: the first
    groups of the seed's order until :data:`VAL_TILES` tiles, taking a group's coarsest tiles first (a zoom-19
    tile and its zoom-20 children cover the spot once each); the rest of a validation group is not used.
    """
    groups: dict[str, list[str]] = {}
    for name in place.candidates:
        groups.setdefault(place.group(name), []).append(name)
    keys = sorted(groups)
    n_test = max(1, round(len(keys) * place.test_share))
    test_keys = set(_seeded_order(keys, TEST_SEED)[:n_test])
    rest = [k for k in _seeded_order(sorted(set(keys) - test_keys), seed + 1)]
    val: list[str] = []
    used = 0
    for used, key in enumerate(rest, start=1):
        val += sorted(groups[key], key=_zoom_then_name)[:VAL_TILES - len(val)]
        if len(val) >= VAL_TILES:
            break
    train_names = sorted(n for k in rest[used:] for n in groups[k])
    test = sorted(n for k in test_keys for n in groups[k])
    return Split(tuple(test), tuple(val), tuple(_seeded_order(train_names, seed + 1)), place.others)


def load_tiles(place: PlaceSet, names: Sequence[str], with_masks: bool, gsd_m: float) -> list[Sample]:
    """The named tiles of ``place`` at the working GSD ``gsd_m`` (masks too with ``with_masks``)."""
    if not names:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        manifest.write_text("file\n" + "\n".join(names) + "\n")
        return load_folder(place.folder / "images", place.folder / "masks" if with_masks else None, manifest,
                           working_gsd_m=gsd_m, stated_gsd_m=place.tile_gsd_m)


def score_on_test(model_path: Path, model: torch.nn.Module | None, test: TensorSet, device: str) -> dict[str, Any]:
    """Pooled-pixel IoU, precision and recall on the test tiles of the model file ``model_path``, or of
    ``model`` (the same network with other weights) when given."""
    dev = resolve_device(device)
    loaded, config, _ = load_model(model_path, dev)
    model = loaded if model is None else model
    figures = evaluate_tensors(prepare_module(model, dev), config, test, dev)
    return {f"test_{k}": round(figures[k], 5) for k in ("iou", "precision", "recall")}


def zero_label_model(method: str, base: Path, pool: list[Sample]) -> torch.nn.Module | None:
    """The base model as the ``zero_shot`` row uses it (None: the file itself) or adapted to ``pool``
    without labels (``adapt_bn``)."""
    if method == "zero_shot":
        return None
    from pgssl_core.models.adapt_bn import adapt_to_tiles  # the zero-label adaptation of the product

    model, config, _ = load_model(base, "cpu")
    return adapt_to_tiles(model, config, [s["image"] for s in pool])


def model_id(path: Path) -> str:
    """First 10 hex digits of a model file's SHA-256 (the shipped base model's is in its model card)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def source_gsds(place: PlaceSet) -> list[float]:
    """GSD (m/px) of each candidate tile of ``place``: the stated one, else measured from its XYZ address."""
    if place.tile_gsd_m is not None:
        return [place.tile_gsd_m] * len(place.candidates)
    found = []
    for name in place.candidates:
        zxy = parse_xyz_name(name)
        if zxy is not None:
            found.append(ground_gsd_m(xyz_transform(*zxy, 256, 256), CRS.from_epsg(3857), 256, 256))
    return [g for g in found if g is not None]


def working_gsd(args: argparse.Namespace, place: PlaceSet) -> float:
    """The working GSD (m) every tile of a cell, test tiles included, is read at: ``--set gsd_m=...`` if given,
    else what the app suggests for the place's imagery (``suggested_working_gsd``: 0.7 m for Dubai's 1 m
    tiles, the profile's 0.3 m for Kathmandu's drone tiles)."""
    overrides = parse_overrides(args.set)
    gsd = TrainConfig(profile=args.profile, profile_overrides=overrides).resolved_profile().augment.gsd_m
    if gsd is None:
        raise ValueError(f"profile {args.profile!r} has no working GSD")
    return float(gsd) if "gsd_m" in overrides else suggested_working_gsd(source_gsds(place), gsd)


def cell_tiles(place: PlaceSet, method: str, labels: int | None, seed: int, pool_limit: int | None,
               gsd: float) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """The (labelled, pool, validation) tiles of a cell at the working GSD ``gsd``: ``zero_shot`` uses none of
    the user's tiles, ``adapt_bn`` only the unlabelled ones, ``oracle`` learns the test tiles themselves."""
    split = split_set(place, seed)
    if method == "oracle":
        test = load_tiles(place, split.test, True, gsd)
        return test, [], test[:VAL_TILES]
    pool_names = split.pool(labels)
    if pool_limit is not None and len(pool_names) > pool_limit:
        pool_names = sorted(_seeded_order(pool_names, seed)[:pool_limit])
    pool = load_tiles(place, pool_names, False, gsd) if method != "zero_shot" else []
    if method not in TRAINED:
        return [], pool, []
    return (load_tiles(place, split.labelled(labels), True, gsd), pool,
            load_tiles(place, split.val, True, gsd))


def run_cell(place: PlaceSet, method: str, labels: int | None, seed: int, args: argparse.Namespace,
             test: TensorSet, run_dir: Path) -> dict[str, Any]:
    """One row: train (or adapt) as a user would on ``place`` and score the result on the test tiles."""
    gsd = working_gsd(args, place)
    t0 = time.time()
    labelled, pool, val = cell_tiles(place, method, labels, seed, args.pool_limit, gsd)
    common = {"pool": len(pool), "val": len(val), "test": len(test), "labelled": len(labelled)}
    if method not in TRAINED:
        model = zero_label_model(method, args.base_model, pool)
        figures = score_on_test(args.base_model, model, test, args.device)
        return {**common, "val_iou": "", "wall_s": round(time.time() - t0, 1), **figures}
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a leftover without a CSV row is a crashed cell
    init = "base" if args.base_model == BASE_MODEL_PATH else str(args.base_model)
    config = TrainConfig(method="supervised" if method == "oracle" else method, profile=args.profile, seed=seed,
                         device=args.device, init=init, profile_overrides={**parse_overrides(args.set), "gsd_m": gsd},
                         **budget_kwargs(args.budget_min))
    result = run_training(TrainingData(labelled, pool, val, gsd_m=gsd), config, run_dir)
    val_iou = (result.best_val or result.final_val or {}).get("iou", math.nan)
    return {**common, "val_iou": round(float(val_iou), 5), "steps": steps_done(run_dir),
            "wall_s": round(time.time() - t0, 1), **score_on_test(result.selected_path, None, test, args.device)}


def steps_done(run_dir: Path) -> str:
    """The steps each stage of a budgeted run did, e.g. "teacher 83, pretrain 23, finetune 53" (the machine's
    load decides them; empty for a run without a budget, which does the profile's steps)."""
    ledger = run_dir / "budget.json"
    if not ledger.is_file():
        return ""
    stages = json.loads(ledger.read_text()).get("stages", [])
    return ", ".join(f"{s['stage']} {s['done'] or 0}" for s in stages)


def budget_kwargs(budget_min: float | None) -> dict[str, Any]:
    """The TrainConfig argument of a time budget in minutes (none without one)."""
    return {} if budget_min is None else {"time_budget_s": budget_min * 60.0}


def _stats(values: list[float]) -> str:
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} (n={len(values)})"


def write_markdown(path: Path, rows: list[dict[str, str]]) -> None:
    """Mean (± sample sd over seeds) of test IoU, precision and recall per set, starting model, row, label
    count, budget and profile overrides."""
    group_key = ("set", "base_id", "gsd_m", "method", "labels", "budget_s", "overrides")
    cells: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for r in rows:
        cells.setdefault(tuple(r.get(k, "") for k in group_key), []).append(r)
    lines = ["| set | base model | GSD m | row | labels | budget s | overrides | test IoU | precision | recall | "
             "wall s (mean) | threads |", "| --- " * 12 + "|"]
    order = {m: i for i, m in enumerate(METHODS)}

    def sort_key(item: tuple[tuple[str, ...], list[dict[str, str]]]) -> tuple[Any, ...]:
        k = item[0]
        return (k[0], k[1], k[2], order.get(k[3], 9), int(k[4]) if k[4].isdigit() else 10**6, k[5], k[6])

    for key, group in sorted(cells.items(), key=sort_key):
        def col(name: str, grp: list[dict[str, str]] = group) -> str:
            return _stats([float(g[name]) for g in grp if g.get(name) not in ("", None)])
        wall = statistics.mean(float(g["wall_s"]) for g in group)
        lines.append("| " + " | ".join(key) + f" | {col('test_iou')} | {col('test_precision')} | "
                     f"{col('test_recall')} | {wall:.0f} | {group[0]['threads']} |")
    path.write_text("# New-place benchmark (benchmarks/new_place.py)\n\nTest tiles: pooled pixels; mean ± sd "
                    "over seeds (n = seeds).\n\n" + "\n".join(lines) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", nargs="+", default=["kathmandu", "dubai"], choices=["kathmandu", "dubai"])
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--labels", nargs="+", default=["20"], help="label counts per row: numbers or 'all'")
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--profile", default="quick")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="profile overrides (JSON values)")
    p.add_argument("--budget-min", type=float, default=None, help="time budget of each training run, minutes")
    p.add_argument("--pool-limit", type=int, default=None, help="at most this many unlabelled pool tiles (seeded)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--base-model", type=Path, default=BASE_MODEL_PATH,
                   help="the starting model (default: the shipped base model); rows record its hash")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--shared", type=Path, default=SHARED)
    p.add_argument("--smoke", action="store_true", help="one tiny real cell (profile test, 3 labels, kathmandu)")
    args = p.parse_args(argv)
    if args.smoke:
        args.sets, args.methods, args.labels, args.seeds = ["kathmandu"], ["supervised"], ["3"], [0]
        args.profile, args.pool_limit = "test", 4
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the requested cells that are not in the CSV yet; rewrite the CSV after each and the table at the end."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "new_place.csv"
    profile_id, _ = profile_fingerprint(args.profile, parse_overrides(args.set))
    base_id = model_id(args.base_model)
    budget = "" if args.budget_min is None else str(round(args.budget_min * 60))
    places = place_sets(args.shared)
    for set_name in args.sets:
        place = places[set_name]
        gsd = working_gsd(args, place)
        test = TensorSet.from_samples(load_tiles(place, split_set(place, 0).test, True, gsd))
        for method in args.methods:
            label_counts = ["0"] if method not in TRAINED else ["test"] if method == "oracle" else args.labels
            for labels in label_counts:
                for seed in (args.seeds if method in TRAINED else [0]):
                    key = {"set": set_name, "method": method, "labels": labels, "seed": str(seed),
                           "budget_s": budget if method in TRAINED else "", "profile": args.profile,
                           "overrides": " ".join(args.set) if method in TRAINED else "",
                           "profile_id": profile_id if method in TRAINED else "", "base_id": base_id,
                           "pool_limit": "" if args.pool_limit is None else str(args.pool_limit),
                           "gsd_m": f"{gsd:g}"}
                    if any(all(r.get(k) == v for k, v in key.items()) for r in read_rows(csv_path)):
                        print(f"skip (done): {key}")
                        continue
                    n = None if labels in ("all", "test") else int(labels)
                    cell = f"{set_name}-{method}-l{labels}-s{seed}-b{budget or 'steps'}"
                    run_dir = args.out / "new_place_runs" / cell
                    row = {**key, **run_cell(place, method, n, seed, args, test, run_dir),
                           "threads": torch.get_num_threads(), "device": args.device}
                    print({k: row[k] for k in ("set", "method", "labels", "seed", "test_iou", "test_precision",
                                               "test_recall", "wall_s")}, flush=True)
                    merge_rows(csv_path, [row], lambda r: tuple(str(r.get(k, "")) for k in KEY), COLUMNS)
    write_markdown(args.out / "new_place.md", read_rows(csv_path))
    print((args.out / "new_place.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
