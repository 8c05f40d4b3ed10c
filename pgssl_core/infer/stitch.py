"""Row-strip stitching of overlapping window predictions (memory bounded by one strip).

The raster is walked one row of windows (a "strip") at a time, one batch of windows per read.
Weighted predictions accumulate in a float32 buffer of ``window height x raster width`` pixels
(16 MB for 8,000 px wide rasters and 512 px windows); the rows that no later window can touch are
normalised and handed to the caller, then the buffer slides down. Because the blending weight of a
window is a product of a row profile and a column profile, the sum of weights is the product of
two 1-D sums and needs no 2-D buffer. Peak memory never depends on the raster height, and only
that buffer (plus the finished rows) depends on its width.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from pgssl_core.infer.windows import axis_windows, edge_weights

#: ``read(col_off, row_off, width, height) -> (rgb (height, width, 3) uint8, valid (height, width) bool)``.
WindowReader = Callable[[int, int, int, int], tuple[np.ndarray, np.ndarray]]
#: ``predict(images uint8 (N, h, w, 3)) -> probabilities float32 (N, h, w)``.
BatchPredictor = Callable[[np.ndarray], np.ndarray]
#: ``progress(windows_done, windows_total)``.
Progress = Callable[[int, int], None]


@dataclass
class FinishedRows:
    """Final rows ``[row_off, row_off + len(prob))`` of the raster: float32 probability and validity."""

    row_off: int
    prob: np.ndarray  # (rows, W) float32 in [0, 1]
    valid: np.ndarray  # (rows, W) bool


@dataclass
class WindowLayout:
    """Where the windows go: starts per axis (px) and the common window size (px)."""

    row_starts: list[int]
    col_starts: list[int]
    win_h: int
    win_w: int

    @property
    def count(self) -> int:
        """Number of windows (rows x columns)."""
        return len(self.row_starts) * len(self.col_starts)


def plan_windows(height: int, width: int, tile: int, overlap: int, multiple: int) -> WindowLayout:
    """Window layout of a ``height x width`` px raster (see ``axis_windows``)."""
    rows, win_h = axis_windows(height, tile, overlap, multiple)
    cols, win_w = axis_windows(width, tile, overlap, multiple)
    return WindowLayout(rows, cols, win_h, win_w)


def _pad_to(arr: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Mirror-pad the first two axes of ``arr`` up to ``rows x cols`` (small rasters only)."""
    pad_r, pad_c = rows - arr.shape[0], cols - arr.shape[1]
    if pad_r == 0 and pad_c == 0:
        return arr
    widths = [(0, pad_r), (0, pad_c)] + [(0, 0)] * (arr.ndim - 2)
    return np.pad(arr, widths, mode="symmetric")


def _profile_sum(starts: list[int], length: int, size: int, overlap: int) -> np.ndarray:
    """Sum over windows of the 1-D blending profiles along an axis (float64, ``size``)."""
    total = np.zeros(size, dtype=np.float64)
    for s in starts:
        n = min(length, size - s)
        total[s:s + n] += edge_weights(s, length, size, overlap)[:n]
    return total


def first_strip_touching(layout: WindowLayout, strip: int) -> int:
    """The first strip (row of windows) whose windows reach down into ``strip``'s first row: predicting from
    there makes every row from ``strip`` on exactly what predicting the whole raster gives."""
    start = layout.row_starts[strip]
    return next(k for k, s in enumerate(layout.row_starts) if s + layout.win_h > start)


def stitch_predictions(height: int, width: int, read: WindowReader, predict: BatchPredictor,
                       tile: int, overlap: int, multiple: int, batch_size: int = 4,
                       progress: Progress | None = None, strips: range | None = None) -> Iterator[FinishedRows]:
    """Yield the blended prediction of a ``height x width`` px raster, top to bottom, in row blocks.

    The next batch of windows is read in a background thread while the current one runs through
    the model (GDAL and numpy release the GIL), so reading costs little wall time.

    ``strips``: only these rows of windows (indices into the layout's ``row_starts``; default all). Rows
    are yielded strip by strip; those of a strip are final only when every earlier strip whose windows
    reach them was included (see :func:`first_strip_touching`), which is how a row band of the raster is
    predicted exactly as in the whole raster (sharded prediction).
    """
    layout = plan_windows(height, width, tile, overlap, multiple)
    strips = range(len(layout.row_starts)) if strips is None else strips
    win_h, win_w = layout.win_h, layout.win_w
    col_weights = [edge_weights(c, win_w, width, overlap) for c in layout.col_starts]
    # Both sums are > 0 everywhere (see windows.edge_weights); the floor only guards rounding.
    col_total = np.maximum(_profile_sum(layout.col_starts, win_w, width, overlap), 1e-12).astype(np.float32)
    row_total = np.maximum(_profile_sum(layout.row_starts, win_h, height, overlap), 1e-12).astype(np.float32)
    acc = np.zeros((win_h, width), dtype=np.float32)  # sum of weight * probability
    valid_rows = np.zeros((win_h, width), dtype=bool)
    # (row offset, index of the batch's first column window, column offsets of its windows)
    batches = [(layout.row_starts[s], b, layout.col_starts[b:b + batch_size]) for s in strips
               for b in range(0, len(layout.col_starts), batch_size)]
    if not batches:
        return
    # where each strip's final rows end: the next strip's start (the raster's end after the last strip)
    strip_end = dict(zip(layout.row_starts, layout.row_starts[1:] + [height]))
    done, total = 0, len(strips) * len(layout.col_starts)
    if progress is not None:
        progress(0, total)

    def read_batch(row_off: int, _: int, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Windows (N, win_h, win_w, 3) of one batch, and the validity of the columns they span."""
        c0, c1 = cols[0], min(cols[-1] + win_w, width)
        rgb, valid = read(c0, row_off, c1 - c0, min(win_h, height - row_off))
        rgb = _pad_to(rgb, win_h, cols[-1] + win_w - c0)  # only rasters smaller than a window
        return np.stack([rgb[:, c - c0:c - c0 + win_w] for c in cols]), valid

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read_batch, *batches[0])
        for k, (row_off, first, cols) in enumerate(batches):
            batch, valid = pending.result()
            if k + 1 < len(batches):
                pending = pool.submit(read_batch, *batches[k + 1])
            valid_rows[:valid.shape[0], cols[0]:cols[0] + valid.shape[1]] = valid
            probs = predict(batch)
            row_w = edge_weights(row_off, win_h, height, overlap)[:, None]
            for j, c in enumerate(cols):
                n = min(win_w, width - c)
                acc[:, c:c + n] += probs[j, :, :n] * (row_w * col_weights[first + j][None, :n])
            done += len(cols)
            if progress is not None:
                progress(done, total)
            if k + 1 < len(batches) and batches[k + 1][0] == row_off:
                continue  # the strip is not finished yet
            next_off = strip_end[row_off]
            n_final = next_off - row_off
            # Divide by the row and column weight sums in place: no second full-width temporary.
            prob = acc[:n_final] / row_total[row_off:next_off, None]
            prob /= col_total[None, :]
            np.clip(prob, 0.0, 1.0, out=prob)
            yield FinishedRows(row_off, prob, valid_rows[:n_final].copy())
            # Slide the buffer down: rows not yet final move to the top, the rest is cleared.
            keep = win_h - n_final
            acc[:keep] = acc[n_final:].copy()
            acc[keep:] = 0.0
