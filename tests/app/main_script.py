"""The app's entry script, as the page tests (Streamlit's AppTest) load it."""

from __future__ import annotations

from pathlib import Path

#: ``app/main.py`` of this checkout.
MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
