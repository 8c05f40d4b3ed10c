"""Which district boundaries a project uses: the shipped Beijing districts by default, or a file the user
uploaded (kept inside the project folder, recorded in the project setting ``district_boundaries``).

Shared by the app (Map page, tile-service import panel) and the command line (``import-xyz --district``).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from pgssl_core.assess.boundaries import load_boundaries, read_boundary_file
from pgssl_core.catalog import Project
from pgssl_core.errors import PgsslError

SETTING = "district_boundaries"  # {"file": <path inside the project>, "name_column": str, "original": str}
FOLDER = "boundaries"  # inside the project folder
DEFAULT = "beijing"  # the boundaries shipped with the app (the demo's city)


@dataclass(frozen=True)
class BoundaryChoice:
    """Where a project's districts come from: ``file`` (absolute path) and ``name_column``, or the default."""

    file: str | None = None
    name_column: str | None = None
    original: str | None = None

    @property
    def label(self) -> str:
        """Display name: the uploaded file and its name column, or the shipped Beijing districts."""
        return f"{self.original} (column “{self.name_column}”)" if self.file else "Beijing's 16 districts (shipped)"

    @property
    def key(self) -> tuple[str, str]:
        """Part of a cache key: changes when the boundaries change."""
        return (self.file or DEFAULT, self.name_column or "")


def project_boundaries(project: Project) -> BoundaryChoice:
    """The project's boundary choice (the shipped default when none was uploaded or its file is gone)."""
    value = project.get_setting(SETTING) or {}
    path = project.root / value["file"] if value.get("file") else None
    if path is None or not path.is_file():
        return BoundaryChoice()
    return BoundaryChoice(str(path), value.get("name_column"), value.get("original"))


def districts_for(choice: BoundaryChoice) -> gpd.GeoDataFrame | str:
    """What ``prepare_assessment`` takes: ``"beijing"`` or the uploaded districts with a ``district`` column."""
    if choice.file is None:
        return DEFAULT
    gdf = read_boundary_file(choice.file)
    if choice.name_column and choice.name_column in gdf.columns:
        gdf = gdf.assign(district=gdf[choice.name_column].astype(str))
    return load_boundaries(gdf)


def find_district(choice: BoundaryChoice, name: str) -> tuple[str, gpd.GeoDataFrame]:
    """The district called ``name`` (case-insensitive; any name column, e.g. pinyin or Chinese) in the
    boundaries ``choice`` (a project's: :func:`project_boundaries`): ``(its name as the table spells it,
    one-row GeoDataFrame)``.

    Raises ``PgsslError`` naming the districts there are when none matches.
    """
    districts = load_boundaries(districts_for(choice))
    wanted = name.strip().casefold()
    text = [c for c in districts.columns if c != districts.geometry.name and districts[c].dtype == object]
    for column in ["district"] + [c for c in text if c != "district"]:
        hits = districts[districts[column].astype(str).str.strip().str.casefold() == wanted]
        if len(hits):
            return str(hits["district"].iloc[0]), hits.iloc[:1]
    names = ", ".join(sorted(districts["district"].astype(str)))
    raise PgsslError(f"no district called {name!r} in {choice.label}; there are: {names}")
