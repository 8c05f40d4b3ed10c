"""The brush canvas (streamlit-drawable-canvas), wrapped so that tests can stand in for it.

The real component only runs in a browser; ``streamlit.testing.AppTest`` cannot draw on it. A
test puts a callable under ``st.session_state[STAND_IN_KEY]``; :func:`brush_canvas` then calls it
with the same arguments (as keywords) instead of the component and returns what it returns.

streamlit-drawable-canvas 0.13 has no option for a brush-sized cursor or for which toolbar buttons
to show, and draws inside a shadow root that page CSS cannot reach. :func:`brush_cursor` is a
tiny Streamlit v2 component of our own (no visible output) that puts one ``<style>`` into that
shadow root: a cursor outlining the brush (black and white rings, visible on red roofs and on
white ones) and ``display: none`` for the buttons that do nothing useful here: "Update the app
with this drawing" (every stroke is sent already), and "Edit", whose move tool would shift painted
strokes onto another roof (with bring forward / send backward / delete selected, shown only in
edit mode). Undo, redo and reset stay.
"""

from __future__ import annotations

import base64
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


# Buttons of the component's toolbar hidden on the Label page (matched by their aria-label).
HIDDEN_TOOLBAR_BUTTONS = ("Update the app with this drawing", "Edit", "Bring forward", "Send backward",
                          "Delete selected")
# Browsers ignore cursor images larger than 128 px (Chrome, Firefox); wider brushes get the largest ring.
MAX_CURSOR_PX = 128


def cursor_svg(width: int) -> tuple[str, int]:
    """(SVG text, side in px) of a ring the size of a ``width`` px brush: a black ring with a white
    one inside, so the outline shows on dark, light and red roofs alike."""
    side = min(int(width) + 4, MAX_CURSOR_PX)
    centre = side / 2
    radius = max(min(int(width) / 2, centre - 1.5), 1.0)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}">'
           f'<circle cx="{centre}" cy="{centre}" r="{radius}" fill="none" stroke="black" stroke-width="1.5"/>'
           f'<circle cx="{centre}" cy="{centre}" r="{max(radius - 1.5, 0.5)}" fill="none" stroke="white" '
           f'stroke-width="1.5"/></svg>')
    return svg, side


def canvas_css(brush_width: int) -> str:
    """CSS for the canvas's shadow root: the brush ring as cursor (crosshair where images are not
    supported) and the hidden toolbar buttons."""
    svg, side = cursor_svg(brush_width)
    url = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    hotspot = side // 2
    hidden = ", ".join(f'button[aria-label="{label}"]' for label in HIDDEN_TOOLBAR_BUTTONS)
    return (f'canvas.upper-canvas {{ cursor: url("{url}") {hotspot} {hotspot}, crosshair !important; }}\n'
            f"{hidden}, .dc-toolbar-contextual {{ display: none !important; }}")


# Runs in the page (v2 components are not sandboxed): keeps our <style> in every drawable canvas's
# shadow root; polled because the canvas mounts and remounts (new key) on its own schedule.
_CURSOR_JS = """
export default function (component) {
    window.__pgsslCanvasCss = component.data.css;
    const apply = () => {
        document.querySelectorAll('[data-testid="stBidiComponentIsolated"]').forEach((host) => {
            const root = host.shadowRoot;
            if (!root || !root.querySelector(".dc-root")) { return; }
            let style = root.querySelector("style[data-pgssl-canvas]");
            if (!style) {
                style = document.createElement("style");
                style.setAttribute("data-pgssl-canvas", "");
                root.appendChild(style);
            }
            if (style.textContent !== window.__pgsslCanvasCss) { style.textContent = window.__pgsslCanvasCss; }
        });
    };
    apply();
    if (window.__pgsslCanvasTimer) { clearInterval(window.__pgsslCanvasTimer); }
    window.__pgsslCanvasTimer = setInterval(apply, 250);
    return () => { clearInterval(window.__pgsslCanvasTimer); window.__pgsslCanvasTimer = null; };
}
"""


@st.cache_resource
def _cursor_component():
    return st.components.v2.component("pgssl_canvas_cursor", js=_CURSOR_JS, isolate_styles=False)


def brush_cursor(brush_width: int) -> None:
    """Brush-sized ring cursor and a trimmed toolbar on the page's brush canvas (see the module doc)."""
    _cursor_component()(data={"css": canvas_css(brush_width)}, key="label_canvas_cursor", height=0)
