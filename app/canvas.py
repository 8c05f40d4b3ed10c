"""The brush canvas (streamlit-drawable-canvas), wrapped so that tests can stand in for it.

The real component only runs in a browser; ``streamlit.testing.AppTest`` cannot draw on it. A
test puts a callable under ``st.session_state[STAND_IN_KEY]``; :func:`brush_canvas` then calls it
with the same arguments (as keywords) instead of the component and returns what it returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st
from PIL import Image

STAND_IN_KEY = "_label_canvas_stand_in"

# (background, stroke_color, stroke_width, height, width, key) -> RGBA (height, width, 4) uint8 or None
CanvasFn = Callable[..., "np.ndarray | None"]


def brush_canvas(background: Image.Image, stroke_color: str, stroke_width: int, height: int, width: int,
                 key: str) -> np.ndarray | None:
    """Show a free-draw canvas over ``background``; returns the strokes as RGBA or None.

    ``height``/``width``: canvas size in screen px (``background`` is stretched to it);
    ``stroke_width`` in screen px. The result is (height, width, 4) uint8 with a transparent
    background (the background image is not part of it), or None before the first stroke.
    The component's toolbar provides undo, redo and reset; a new ``key`` starts an empty canvas.
    """
    stand_in: CanvasFn | None = st.session_state.get(STAND_IN_KEY)
    if stand_in is not None:
        return stand_in(background=background, stroke_color=stroke_color, stroke_width=stroke_width,
                        height=height, width=width, key=key)
    from streamlit_drawable_canvas import st_canvas  # imported here: its module registers a component

    result = st_canvas(stroke_width=int(stroke_width), stroke_color=stroke_color, background_image=background,
                       update_streamlit=True, height=int(height), width=int(width), drawing_mode="freedraw",
                       return_image_data=True, key=key)
    return result.image_data
