"""A project's ground-resolution settings, stored in its catalog: the working GSD and the GSD stated for
tiles without a georeference.

Training, project prediction and the Label page's "label these next" all read tiles at these settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import affine

from pgssl_core.catalog.project import Project
from pgssl_core.catalog.records import TileRecord
from pgssl_core.tiles.gsd import (
    DEFAULT_WORKING_GSD_M,
    check_gsd,
    ground_gsd_m,
    suggested_working_gsd,
    tile_gsd_m,
)

#: Project settings keys: the working GSD (m/px, or "native") and the GSD stated for tiles without a
#: georeference (m/px or absent).
WORKING_GSD_KEY = "working_gsd_m"
TILE_GSD_KEY = "tile_gsd_m"
#: At most this many tiles (evenly spread over the catalogue) give the median source GSD of a project: the
#: median of a sample is as good a guide and each measurement builds a CRS transformer.
GSD_SAMPLE_TILES = 25


@dataclass(frozen=True)
class GsdSettings:
    """A project's ground-resolution settings: ``working_gsd_m`` (None = native resolution) and
    ``tile_gsd_m``, the GSD the user stated for tiles without a georeference (None = not stated)."""

    working_gsd_m: float | None = DEFAULT_WORKING_GSD_M
    tile_gsd_m: float | None = None
    # True: the working GSD was not set by the user but suggested from the tiles (not part of equality, so
    # saving the suggested value unchanged is no change)
    suggested: bool = field(default=False, compare=False)


def project_gsd(project: Project) -> GsdSettings:
    """The project's GSD settings. Without a stored working GSD, the one suggested for its tiles
    (:func:`suggested_project_gsd`: the base model's 0.3 m unless the imagery is coarser than 0.45 m); no stated
    tile GSD by default."""
    stated_value = project.get_setting(TILE_GSD_KEY, None)
    stated = None if stated_value is None else check_gsd(stated_value, "the stated tile GSD")
    working = project.get_setting(WORKING_GSD_KEY, None)
    if working is None:
        return GsdSettings(suggested_project_gsd(project, stated), stated, suggested=True)
    return GsdSettings(None if working == "native" else check_gsd(working, "the working GSD"), stated)


def record_gsd_m(record: TileRecord, stated_gsd_m: float | None) -> float | None:
    """A catalogued tile's GSD (m/px) from its stored bounds and size, else ``stated_gsd_m`` (None: unknown)."""
    if record.crs is None or record.bounds is None:
        return stated_gsd_m
    transform = affine.Affine.translation(record.bounds[0], record.bounds[3]) * affine.Affine.scale(
        (record.bounds[2] - record.bounds[0]) / record.width, -(record.bounds[3] - record.bounds[1]) / record.height)
    from rasterio.crs import CRS  # the catalogue stores the CRS as text

    return ground_gsd_m(transform, CRS.from_user_input(record.crs), record.width, record.height) or stated_gsd_m


def source_gsds(project: Project, stated_gsd_m: float | None) -> list[float]:
    """GSDs (m/px) of up to ``GSD_SAMPLE_TILES`` of the project's tiles, spread over the catalogue; tiles of
    unknown GSD are left out."""
    records = project.tiles()
    stride = max(1, len(records) // GSD_SAMPLE_TILES)
    found = (record_gsd_m(r, stated_gsd_m) for r in records[::stride][:GSD_SAMPLE_TILES])
    return [g for g in found if g is not None]


def suggested_project_gsd(project: Project, stated_gsd_m: float | None = None) -> float:
    """The working GSD (m/px) suggested for the project's imagery: see ``tiles.gsd.suggested_working_gsd``."""
    return suggested_working_gsd(source_gsds(project, stated_gsd_m))


def set_project_gsd(project: Project, settings: GsdSettings) -> None:
    """Store the project's GSD settings (values are checked: 1 cm .. 100 m per pixel)."""
    working = settings.working_gsd_m
    project.set_setting(WORKING_GSD_KEY, "native" if working is None else check_gsd(working, "the working GSD"))
    project.set_setting(TILE_GSD_KEY, None if settings.tile_gsd_m is None else
                        check_gsd(settings.tile_gsd_m, "the stated tile GSD"))


def project_tile_gsd(project: Project, tile_id: str) -> float | None:
    """GSD (m/px) of a stored tile: from its georeference, else the project's stated tile GSD, else None."""
    tile = project.read(tile_id)
    return tile_gsd_m(tile.transform, tile.crs, tile.width, tile.height, project_gsd(project).tile_gsd_m, tile_id)
