"""Choosing and creating projects (issue 16, items 1 and 2) with Streamlit's AppTest.

Projects are selected by folder everywhere: two projects with the same display name both stay
reachable, a page switch keeps the chosen one, and a new project becomes the current one at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from pgssl_core.catalog import Project
from tests.app.main_script import MAIN


def _param(at: AppTest, name: str) -> str:
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def _metric(at: AppTest, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value)


def _copy_tile(source_root: Path, target: Project) -> None:
    with Project.open(source_root) as source:
        record = source.tiles()[0]
        target.add_tile(source.read(record.id), "roof.tif")


def test_two_projects_with_one_name_both_stay_reachable(projects_env: Path) -> None:
    # two folders whose catalogs carry the same name (as an older version of the app made them)
    for slug, tiles in (("x", 1), ("x-2", 0)):
        with Project.create(projects_env / slug, "X") as project:
            for _ in range(tiles):
                _copy_tile(projects_env / "beijing-demo", project)
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    picker = at.sidebar.selectbox(key="project_picker")
    assert len(set(picker.options)) == len(picker.options)  # the picker tells them apart
    original = next(i for i, option in enumerate(picker.options) if option.startswith("X") and "x-2" not in option)
    picker.select_index(original).run()
    assert not at.exception, at.exception
    assert _param(at, "project") == "x"
    assert _metric(at, "Tiles") == 1  # the original project, not the empty one
    # a page switch keeps it (the menu drops the URL parameter; the session remembers the folder)
    at.switch_page("../pages/label.py").run()
    at.switch_page("../pages/home.py").run()
    assert not at.exception, at.exception
    assert _metric(at, "Tiles") == 1
    assert at.sidebar.selectbox(key="project_picker").value == "x"


def test_url_names_the_project_by_folder(projects_env: Path) -> None:
    for slug in ("x", "x-2"):
        Project.create(projects_env / slug, "X").close()
    at = AppTest.from_file(MAIN, default_timeout=180)
    at.query_params["project"] = "x"
    at.run()
    at.switch_page("../pages/train.py").run()
    at.switch_page("../pages/home.py").run()
    assert not at.exception, at.exception
    assert at.sidebar.selectbox(key="project_picker").value == "x"


def test_create_project_switches_to_it_and_says_so(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    assert "Beijing demo" in at.title[0].value
    at.text_input[0].input("Atlanta 2024")  # the only text input: the new project's name
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    assert at.title[0].value == "Atlanta 2024"
    assert any("Created project" in s.value and "Atlanta 2024" in s.value for s in at.success)
    assert _param(at, "project") == "atlanta-2024"
    assert at.sidebar.selectbox(key="project_picker").value == "atlanta-2024"
    # the next page switch stays on the new project
    at.switch_page("../pages/label.py").run()
    assert at.title[0].value.startswith("Label · Atlanta 2024")


def test_duplicate_or_too_long_name_is_refused_and_kept(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    at.text_input[0].input("beijing DEMO (synthetic imagery)")
    at.button[0].click().run()
    assert any("already exists" in e.value for e in at.error)
    assert at.text_input[0].value == "beijing DEMO (synthetic imagery)"
    long_name = "n" * 130
    at.text_input[0].input(long_name)
    at.button[0].click().run()
    assert any("limited to 120 characters" in e.value for e in at.error)
    assert at.text_input[0].value == long_name  # not cleared: the user can shorten it
    assert sorted(p.name for p in projects_env.iterdir() if p.is_dir()) == ["beijing-demo", "oam-sample"]


def test_label_counts_agree_after_a_tile_is_cleared(projects_env: Path) -> None:
    """Home's "Labelled" counts tiles that carry at least one labelled pixel, as Label and Train do."""
    with Project.open(projects_env / "beijing-demo") as project:
        first, second = project.tiles()[:2]
        project.save_label(first.id, project.reference_mask(first.id), 0, complete=True)
        cleared = np.full((second.height, second.width), 255, np.uint8)  # 255: unlabelled
        project.save_label(second.id, project.reference_mask(second.id), 0)
        project.save_label(second.id, cleared, 1)
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    assert _metric(at, "Labelled") == 1


def test_home_without_labels_says_what_to_do_next(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    assert any("Next:" in i.value and "Label" in i.value for i in at.info)
    with Project.open(projects_env / "beijing-demo") as project:
        for record in project.tiles()[:2]:
            project.save_label(record.id, project.reference_mask(record.id), 0, complete=True)
    at.run()
    assert not any("Next:" in i.value for i in at.info)
