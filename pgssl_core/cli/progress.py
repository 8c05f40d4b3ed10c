"""Progress bars of the CLI (tqdm on stderr) for work whose size is known only once it starts."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def counted_bar(desc: str, unit: str, disable: bool = False) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback that draws a bar of ``total`` units on stderr.

    The bar appears at the first call, when the total is known: a tqdm bar made before that shows a
    meaningless counter ("0win [00:00, ?win/s]"). ``unit`` is a singular noun ("window", "tile"): tqdm writes
    rates as ``2.5window/s`` or ``1.4s/window``. The bar is closed when the block ends.
    """
    from tqdm import tqdm

    bar: tqdm | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable)
        bar.total = total
        bar.n = done  # not update(): a sparse GeoTIFF's regions each count their windows from 0 again
        bar.refresh()

    try:
        yield progress
    finally:
        if bar is not None:
            bar.close()
