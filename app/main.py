"""Streamlit entry point: ``streamlit run app/main.py``.

Sets up navigation and the shared sidebar; each page is a thin script under ``pages/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run app/main.py` puts only app/ on sys.path; the pages import `app` and `pgssl_core`
# from the repository root, so add it (works from any working directory and in the Docker image).
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402

from app.sidebar import render_sidebar  # noqa: E402

st.set_page_config(page_title="PGSSL · buildings & rooftop PV", page_icon=":material/solar_power:", layout="wide")

# (file under pages/, title, icon) in menu order; a page appears once its script exists
PAGES = [
    ("home.py", "Project & upload", ":material/folder_open:"),
    ("label.py", "Label", ":material/brush:"),
    ("train.py", "Train", ":material/model_training:"),
    ("map.py", "Map", ":material/map:"),
]
pages = [st.Page(REPO_ROOT / "pages" / name, title=title, icon=icon, default=(name == "home.py"))
         for name, title, icon in PAGES if (REPO_ROOT / "pages" / name).is_file()]
navigation = st.navigation(pages)
render_sidebar()
navigation.run()
