"""A project's ground-resolution settings, stored in its catalog: the working GSD and the GSD stated for
tiles without a georeference.

Training, project prediction and the Label page's "label these next" all read tiles at these settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgssl_core.catalog.project import Project
from pgssl_core.tiles.gsd import DEFAULT_WORKING_GSD_M, check_gsd, tile_gsd_m

#: Project settings keys: the working GSD (m/px, or "native") and the GSD stated for tiles without a
#: georeference (m/px or absent).
WORKING_GSD_KEY = "working_gsd_m"
TILE_GSD_KEY = "tile_gsd_m"


@dataclass(frozen=True)
class GsdSettings:
    """A project's ground-resolution settings: ``working_gsd_m`` (None = native resolution) and
    ``tile_gsd_m``, the GSD the user stated for tiles without a georeference (None = not stated)."""

    working_gsd_m: float | None = DEFAULT_WORKING_GSD_M
    tile_gsd_m: float | None = None


def project_gsd(project: Project) -> GsdSettings:
    """The project's GSD settings (defaults: the 0.3 m working GSD, no stated tile GSD)."""
    working = project.get_setting(WORKING_GSD_KEY, DEFAULT_WORKING_GSD_M)
    stated = project.get_setting(TILE_GSD_KEY, None)
    return GsdSettings(None if working == "native" else check_gsd(working, "the working GSD"),
                       None if stated is None else check_gsd(stated, "the stated tile GSD"))


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
