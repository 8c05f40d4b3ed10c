"""A tile-service import: plan, confirm the tile count, download everything, then add it all to the project.

Nothing is half-written: every tile is downloaded and checked (into the disk cache) before the first one
enters the project, and if adding fails part-way the tiles already added are removed again. A re-run after a
failure downloads only what the cache lacks, and tiles the project already holds from the same service are
skipped. Each project tile is the service's image as a GeoTIFF in EPSG:3857 on its XYZ square; its catalog
source keeps the XYZ address, the service and the attribution, and the project setting
``imagery_sources`` lists every service imported with its attribution (shown on the map).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError
from pgssl_core.tiles import read_tile
from pgssl_core.tiles.validate import validate_input
from pgssl_core.xyz.fetch import TileFetcher, public_service_name
from pgssl_core.xyz.grid import TileAddress, TilePlan

#: Tiles fetched without a confirmation (CLI ``--max-tiles``/``--yes``, the app's confirm box): about 16 MB
#: of imagery and, at 2 requests/s, two minutes of a service's time.
DEFAULT_MAX_TILES: int = 256
#: Project setting listing the services imported (``[{"service", "attribution", ...}]``).
SOURCES_SETTING = "imagery_sources"

#: ``progress(done, total, what)`` after each tile is fetched (``what``: "downloaded" or "cached").
Progress = Callable[[int, int, str], None]


class TileCapError(PgsslError):
    """More tiles than the cap and no confirmation."""


@dataclass
class XyzImportResult:
    """What an import did: project tile ids added, tiles skipped (already in the project), downloads and cache hits."""

    area: str
    added: list[str] = field(default_factory=list)
    skipped: int = 0
    downloaded: int = 0
    from_cache: int = 0

    def line(self) -> str:
        """One-line summary: tiles added, already present, downloaded and taken from the cache."""
        return (f"{self.area}: {len(self.added)} tiles added, {self.skipped} already in the project "
                f"({self.downloaded} downloaded, {self.from_cache} from the cache)")


def check_cap(plan: TilePlan, max_tiles: int = DEFAULT_MAX_TILES, confirmed: bool = False) -> None:
    """TileCapError when ``plan`` has more than ``max_tiles`` tiles and the user did not confirm."""
    if not plan.tiles:
        raise PgsslError(f"{plan.area}: no tile covers this area")
    if len(plan.tiles) > max_tiles and not confirmed:
        raise TileCapError(f"{plan.area} is {len(plan.tiles):,} tiles, more than the cap of {max_tiles:,}: "
                           f"confirm with --yes or raise --max-tiles (or pick a smaller area or zoom)")


def xyz_source(tile: TileAddress, service: str, attribution: str) -> dict:
    """The catalog source metadata of an imported tile."""
    z, x, y = tile
    return {"xyz": {"z": z, "x": x, "y": y}, "service": service, "attribution": attribution}


def record_source(project: Project, service: str, attribution: str, area: str) -> None:
    """Add (or refresh) the service and its attribution in the project's ``imagery_sources``."""
    sources = [s for s in project.get_setting(SOURCES_SETTING, []) if s.get("service") != service]
    sources.append({"service": service, "attribution": attribution, "last_area": area,
                    "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    project.set_setting(SOURCES_SETTING, sources)


def present_tiles(project: Project | None, service: str) -> set[TileAddress]:
    """XYZ addresses of ``service`` the project already holds (none without a project)."""
    if project is None:
        return set()
    out = set()
    for record in project.tiles():
        xyz = record.source.get("xyz") if isinstance(record.source, dict) else None
        if xyz and record.source.get("service") == service:
            out.add((int(xyz["z"]), int(xyz["x"]), int(xyz["y"])))
    return out


def _check_attribution(attribution: str) -> str:
    attribution = " ".join(attribution.split())
    if not attribution:
        raise PgsslError("the service's attribution text is required (its terms ask for it; it is shown on the map)")
    return attribution


def download_tiles(plan: TilePlan, fetcher: TileFetcher, skip: Set[TileAddress] = frozenset(),
                   progress: Progress | None = None) -> list[tuple[TileAddress, Path]]:
    """Fetch (or find in the cache) every tile of ``plan`` not in ``skip``: ``[(address, checked file)]``.

    Raises ``TileFetchError`` (one line naming the tile and the reason) at the first tile that cannot be had.
    """
    todo = [t for t in plan.tiles if t not in skip]
    fetched = []
    for done, tile in enumerate(todo, start=1):
        before = fetcher.downloaded
        fetched.append((tile, fetcher.fetch(tile)))
        if progress is not None:
            progress(done, len(todo), "downloaded" if fetcher.downloaded > before else "cached")
    return fetched


def add_tiles(project: Project, fetched: list[tuple[TileAddress, Path]], service: str, attribution: str,
              area: str) -> list[str]:
    """Add downloaded tiles to ``project``, all or none; records the service; returns the new tile ids."""
    attribution = _check_attribution(attribution)
    added: list[str] = []
    try:
        for (z, x, y), path in fetched:
            try:
                validate_input(path)
                image = read_tile(path)  # georeferenced by its z/x/y path: EPSG:3857 on the tile's square
            except PgsslError as exc:
                raise PgsslError(f"tile {z}/{x}/{y}: {exc}") from None
            added.append(project.add_tile(image, f"{z}/{x}/{y}{path.suffix}",
                                          source=xyz_source((z, x, y), service, attribution)))
        record_source(project, service, attribution, area)
    except BaseException:
        for tile_id in reversed(added):  # all or nothing
            with contextlib.suppress(Exception):
                project.delete_tile(tile_id)
        raise
    return added


def import_xyz(project: Project, plan: TilePlan, fetcher: TileFetcher, attribution: str,
               progress: Progress | None = None) -> XyzImportResult:
    """Fetch every tile of ``plan`` that ``project`` lacks, then add them all (or none) to it.

    ``attribution``: the credit line the service asks for (required; kept with every tile and in the project).
    Raises ``TileFetchError`` when a tile cannot be fetched or is not an image, and ``PgsslError`` when a
    fetched file cannot be read as a tile; the project is unchanged then. The cap is checked by the caller
    (:func:`check_cap`) before this is called.
    """
    attribution = _check_attribution(attribution)
    service = public_service_name(fetcher.template)
    skip = present_tiles(project, service)
    fetched = download_tiles(plan, fetcher, skip, progress)
    added = add_tiles(project, fetched, service, attribution, plan.area)
    return XyzImportResult(plan.area, added, len(plan.tiles) - len(fetched), fetcher.downloaded, fetcher.from_cache)
