"""Project catalog: a folder with a SQLite catalog, GeoTIFF tiles, PNG label masks and run folders.

- ``project``: :class:`Project` (create/open, tiles, labels with version checks, runs, settings).
- ``importer``: :func:`import_file` and :func:`import_paths` (files and folders, large rasters split).
- ``labels``: mask validation and PNG encoding; ``records``: the value objects handed out.
- ``runs``: run rows and folders; ``schema``, ``layout``, ``recovery``, ``thumbnails``: database,
  paths on disk, crash cleanup, gallery previews.
"""

from pgssl_core.catalog.importer import expand_paths, import_file, import_paths
from pgssl_core.catalog.project import Project
from pgssl_core.catalog.records import ImportResult, LabelState, RunKind, RunRecord, TileRecord

__all__ = ["Project", "TileRecord", "LabelState", "ImportResult", "RunKind", "RunRecord", "import_file", "import_paths",
           "expand_paths"]
