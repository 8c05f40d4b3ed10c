"""How a raster is predicted: one settings object for the CLI, torchrun and the app, and its defaults.

The defaults are written here once; every caller takes them from :class:`PredictSettings`. This module
imports no torch, so the command line can build its options from it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no torch import at run time: the CLI reads these defaults before it needs torch
    import torch

#: Side of the sliding window (px on the working grid): the source method's training crop (the ``paper``
#: profile of ``train/profiles.py``). The network is fully convolutional, so windows larger than the crops of the
#: smaller profiles are fine, and a larger window pays the overlap on fewer pixels.
WINDOW_PX: int = 512
#: Minimum overlap of neighbouring windows (px). The blending weight is 0 over the outer quarter of an
#: overlap and ramps up over the rest (``infer/windows.py``): with 64 px, no kept pixel is nearer than 16 px to
#: a window edge, where the network lacks context; the cost is (512 / 448)^2 = 1.31 forward passes per pixel.
OVERLAP_PX: int = 64
#: Windows per forward pass: 4 x 512 x 512 px keeps the U-Net's activations in a few hundred MB on a CPU.
BATCH_WINDOWS: int = 4
#: Building probability threshold of masks and of the building-pixel counts (p >= 0.5: the likelier class).
THRESHOLD: float = 0.5
#: Under torchrun, GeoTIFFs of at least this many source pixels are split into row bands across the ranks:
#: about a 10,000 x 10,000 px orthophoto, minutes of work for one process even on a GPU.
BAND_MIN_PX: int = 100_000_000


@dataclass(frozen=True)
class PredictSettings:
    """How every raster is predicted (the ``predict`` command's options).

    Attributes:
        window: sliding-window side in px; a positive multiple of the network's output stride.
        overlap: minimum overlap of neighbouring windows in px, ``0 <= overlap < window``.
        batch_size: windows per forward pass.
        tta: average the probabilities over flips (about 3x slower).
        output: ``"probability"`` (uint8 round(p x 254)) or ``"mask"`` (0/1 at ``threshold``); nodata is 255.
        threshold: building probability threshold in (0, 1), for the mask and the pixel counts.
        cog: write Cloud-Optimized GeoTIFFs.
        device: torch device of the forward pass (None: where the model's parameters are).
        gsd_m: working GSD (m/px) the network sees: ``"model"`` (the model's own), a number, or None (native).
        stated_gsd_m: GSD (m/px) of inputs without a georeference (None: they stay at native resolution).
        engine: what runs the network on a CPU: ``auto``, ``onnx`` or ``torch``
            (None: ``PGSSL_ENGINE``, else ``auto``; see :mod:`pgssl_core.models.onnx_engine`).
        threads: CPU threads of the forward pass (None: leave torch's setting, which ONNX Runtime follows).
    """

    window: int = WINDOW_PX
    overlap: int = OVERLAP_PX
    batch_size: int = BATCH_WINDOWS
    tta: bool = False
    output: str = "probability"
    threshold: float = THRESHOLD
    cog: bool = False
    device: str | torch.device | None = None
    gsd_m: float | str | None = "model"
    stated_gsd_m: float | None = None
    engine: str | None = None
    threads: int | None = None

    @property
    def meta(self) -> dict:
        """The settings that shape the output, tagged into each written GeoTIFF (``pgssl_<key>``). The window
        keeps its tag name ``pgssl_tile``: files written before it was called a window read the same."""
        return {"tile": self.window, "overlap": self.overlap, "tta": self.tta}
