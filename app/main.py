"""Streamlit entry point: ``streamlit run app/main.py``.

Sets up navigation and the shared sidebar; each page is a thin script under ``pages/``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.sidebar import render_sidebar

# `app` and `pgssl_core` are imported as installed packages (`make` installs this checkout in editable mode:
# `pip install -e .`); the page scripts are files of this checkout, found next to this folder.
PAGES_DIR = Path(__file__).resolve().parents[1] / "pages"

st.set_page_config(page_title="PGSSL · buildings & rooftop PV", page_icon=":material/solar_power:", layout="wide")

# (file under pages/, title, icon) in menu order
PAGES = [
    ("home.py", "Project & upload", ":material/folder_open:"),
    ("label.py", "Label", ":material/brush:"),
    ("train.py", "Train", ":material/model_training:"),
    ("map.py", "Map", ":material/map:"),
]
pages = [st.Page(PAGES_DIR / name, title=title, icon=icon, default=(name == "home.py"))
         for name, title, icon in PAGES]
navigation = st.navigation(pages)
render_sidebar()
navigation.run()
