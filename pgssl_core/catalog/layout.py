"""Where a project keeps its files, relative to the project folder.

Every stored file is named after a generated id, never after the uploaded name (which is kept
only as metadata): ``tiles/<id>.tif``, ``labels/<id>-v<version>.png``, ``reference/<id>.png``,
``thumbs/<id>-<size>.png`` and ``runs/<run_id>/``. Nothing absolute is stored in the database,
so a project folder can be moved or renamed as a whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pgssl_core.errors import CatalogError

DB_NAME = "project.sqlite"
#: Footprint and extent layers built from a project's reference masks (ground truth), for the Map page and
#: the report when no prediction is finished: ``<root>/maps/reference/`` (written by
#: ``pgssl_core.project.predict.reference_footprints``).
REFERENCE_MAPS_DIR = "maps/reference"

# tile ids are uuid4 hex (32 lower-case hex digits); run ids ("<yyyymmdd>-<hhmmss>-<6 hex>") come from runs.py
TILE_ID_RE = re.compile(r"^[0-9a-f]{32}$")
LABEL_FILE_RE = re.compile(r"^(?P<id>[0-9a-f]{32})-v(?P<version>\d+)\.png$")
THUMB_FILE_RE = re.compile(r"^(?P<id>[0-9a-f]{32})-(?P<size>\d+)\.png$")
PLAIN_FILE_RE = re.compile(r"^(?P<id>[0-9a-f]{32})\.(?:tif|png)$")


@dataclass(frozen=True)
class ProjectLayout:
    """The paths of one project folder (pure path arithmetic, touches nothing on disk)."""

    root: Path

    @property
    def db_path(self) -> Path:
        """The project's SQLite catalog, ``<root>/project.sqlite``."""
        return self.root / DB_NAME

    @property
    def tiles_dir(self) -> Path:
        """Folder of the imported GeoTIFF tiles."""
        return self.root / "tiles"

    @property
    def labels_dir(self) -> Path:
        """Folder of the label masks, one PNG per tile and version."""
        return self.root / "labels"

    @property
    def reference_dir(self) -> Path:
        """Folder of the imported reference (ground-truth) masks."""
        return self.root / "reference"

    @property
    def thumbs_dir(self) -> Path:
        """Folder of the cached tile thumbnails."""
        return self.root / "thumbs"

    @property
    def runs_dir(self) -> Path:
        """Folder of the training and prediction runs, one sub-folder per run."""
        return self.root / "runs"

    def data_dirs(self) -> tuple[Path, ...]:
        """Folders whose files are all owned by a database row (checked by crash recovery)."""
        return (self.tiles_dir, self.labels_dir, self.reference_dir, self.thumbs_dir)

    def tile_path(self, tile_id: str) -> Path:
        """The GeoTIFF of tile ``tile_id`` (``tiles/<id>.tif``)."""
        return self.tiles_dir / f"{tile_id}.tif"

    def label_path(self, tile_id: str, version: int) -> Path:
        """The label mask of ``tile_id`` at ``version`` (``labels/<id>-v<version>.png``)."""
        # one file per version: a new version is written beside the old one and only becomes
        # current when the database commits, so a crash at any point leaves a consistent pair
        return self.labels_dir / f"{tile_id}-v{version}.png"

    def reference_path(self, tile_id: str) -> Path:
        """The reference mask of ``tile_id`` (``reference/<id>.png``)."""
        return self.reference_dir / f"{tile_id}.png"

    def thumb_path(self, tile_id: str, size: int) -> Path:
        """The thumbnail of ``tile_id`` at ``size`` pixels (``thumbs/<id>-<size>.png``)."""
        return self.thumbs_dir / f"{tile_id}-{size}.png"

    def run_dir(self, run_id: str) -> Path:
        """The folder of run ``run_id`` (``runs/<run_id>/``)."""
        return self.runs_dir / run_id


def check_tile_id(tile_id: str) -> str:
    """Return ``tile_id`` if it has the generated-id shape; refuse anything path-like."""
    if not isinstance(tile_id, str) or not TILE_ID_RE.match(tile_id):
        raise CatalogError(f"invalid tile id {tile_id!r}: expected 32 hex digits")
    return tile_id
