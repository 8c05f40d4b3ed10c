"""App timings on this machine: first start, page switches, and the demo flow.

Measures, in one run:
1. ``streamlit run app/main.py`` with an empty projects folder (first start: the two demo projects
   are built) until the Home page shows the Beijing demo in headless Chromium; then a second start
   (projects already there). The ``.venv`` is taken as built: pip time is not included.
2. Page switch times (sidebar click until the page's own content is visible) for Label, Train, Map
   and back to the Project & upload page.
3. The demo flow at library level, the same functions the pages call: label 5 tiles (their reference
   masks saved as complete labels), ``quick`` PGSSL training, predict all 64 tiles, district + PV
   assessment. Browser clicks are not included here; the e2e tests drive those pages.

Prints the figures and writes ``benchmarks/results/app_timings.json``. Timings are never asserted.
Usage: ``.venv/bin/python benchmarks/app_timings.py [--skip-flow]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "benchmarks" / "results" / "app_timings.json"

from tests.e2e.app_process import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app  # noqa: E402


def _first_page_s(browser, projects: Path) -> tuple[float, float]:
    """Seconds from process start to health OK, and to the Home page showing the demo."""
    t0 = time.perf_counter()
    proc, url = start_app(projects, timeout=300)
    healthy = time.perf_counter() - t0
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_text("Synthetic imagery", exact=False).first.wait_for(timeout=300_000)
    shown = time.perf_counter() - t0
    page.close()
    stop_app(proc)
    return healthy, shown


def _page_switches(browser, projects: Path) -> dict[str, float]:
    proc, url = start_app(projects)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "/?project=beijing-demo", wait_until="domcontentloaded")
    page.get_by_text("Synthetic imagery", exact=False).first.wait_for(timeout=120_000)
    checks = {
        "Label": lambda: page.get_by_text("Brush width", exact=False).first.wait_for(timeout=120_000),
        "Train": lambda: page.get_by_text("Profile", exact=False).first.wait_for(timeout=120_000),
        "Map": lambda: page.locator("iframe").first.wait_for(timeout=300_000),
        "Project & upload": lambda: page.get_by_text("Add tiles", exact=False).first.wait_for(timeout=120_000),
    }
    out = {}
    for name, wait in checks.items():
        t0 = time.perf_counter()
        page.get_by_role("link", name=name).first.click()
        wait()
        out[name] = round(time.perf_counter() - t0, 2)
    page.close()
    stop_app(proc)
    return out


def _demo_flow(projects: Path) -> dict[str, float]:
    from pgssl_core.catalog import Project
    from pgssl_core.project.assessment import prepare_assessment
    from pgssl_core.project.data_plan import training_data_from_project
    from pgssl_core.project.predict import predict_project, read_layers
    from pgssl_core.train.rounds import TrainConfig, run_training

    work = Path(tempfile.mkdtemp(prefix="flow-"))
    shutil.copytree(projects / "beijing-demo", work / "beijing-demo")
    times = {}
    with Project.open(work / "beijing-demo") as project:
        t0 = time.perf_counter()
        train_ids = [r.id for r in project.tiles() if r.split == "train"][::8][:5]
        for tile_id in train_ids:
            _, version = project.load_label(tile_id)
            project.save_label(tile_id, project.reference_mask(tile_id), version, complete=True)
        times["label_5_tiles_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        data = training_data_from_project(project)
        result = run_training(data, TrainConfig(method="pgssl", profile="quick"), work / "run")
        times["quick_training_s"] = round(time.perf_counter() - t0, 2)
        times["quick_val_iou"] = round(float(result.best_val.get("iou", float("nan"))), 4) if result.best_val else None
        t0 = time.perf_counter()
        maps = predict_project(project, result.selected_path, work / "predict")  # the run's model, as in the app
        times["predict_all_tiles_s"] = round(time.perf_counter() - t0, 2)
        times["tiles_predicted"] = maps.manifest["tiles"]
        t0 = time.perf_counter()
        footprints, extents = read_layers(maps)
        assessment = prepare_assessment(footprints, extents, "beijing")
        times["assess_s"] = round(time.perf_counter() - t0, 2)
        times["districts"] = int(len(assessment.report.table)) if assessment.report is not None else 0
    times["flow_total_s"] = round(sum(v for k, v in times.items() if k.endswith("_s")), 2)
    shutil.rmtree(work, ignore_errors=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-flow", action="store_true", help="only the browser timings")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    projects = Path(tempfile.mkdtemp(prefix="app-timings-"))
    figures: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     headless=True, args=CHROMIUM_FLAGS)
        healthy, shown = _first_page_s(browser, projects)
        figures["first_start"] = {"health_ok_s": round(healthy, 2), "home_page_shown_s": round(shown, 2)}
        healthy, shown = _first_page_s(browser, projects)
        figures["second_start"] = {"health_ok_s": round(healthy, 2), "home_page_shown_s": round(shown, 2)}
        figures["page_switch_s"] = _page_switches(browser, projects)
        browser.close()
    if not args.skip_flow:
        figures["demo_flow"] = _demo_flow(projects)
    figures["load_avg_at_end"] = os.getloadavg()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    shutil.rmtree(projects, ignore_errors=True)


if __name__ == "__main__":
    main()
