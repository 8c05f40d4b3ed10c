"""Smoke test of the Home page with Streamlit's AppTest (no browser)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app.main_script import MAIN


def test_home_shows_beijing_demo_first(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    assert not at.exception, at.exception
    assert "Beijing demo" in at.title[0].value
    assert any("Synthetic imagery" in w.value for w in at.warning)
    tiles = next(m for m in at.metric if m.label == "Tiles")
    assert int(tiles.value) >= 16  # at least one sample site per district
    assert at.query_params["project"]  # remembered in the URL for reloads


def test_picker_switches_to_real_sample(projects_env: Path) -> None:
    at = AppTest.from_file(MAIN, default_timeout=180).run()
    picker = at.sidebar.selectbox(key="project_picker")
    index = next(i for i, option in enumerate(picker.options) if "sample" in option.lower())
    picker.select_index(index).run()
    assert not at.exception, at.exception
    assert "Real sample" in at.title[0].value
    assert not at.warning or all("Synthetic" not in w.value for w in at.warning)
