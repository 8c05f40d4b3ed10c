"""The SYNTHETIC Beijing demo scene: georeferenced fake aerial tiles with exact building masks.

Real Beijing imagery cannot ship with the app, so the demo paints its own (see ``scene_render``).
Every tile is labelled SYNTHETIC in its metadata; the app and README must say so too.

Tiles are 256 x 256 px at 0.4 m/px (about 102 m square) in UTM zone 50N (EPSG:32650), at sites
drawn deterministically inside each of the 16 districts (seeded rejection sampling: the whole tile
square must lie inside the district). Building density follows the city's real gradient: the old
core (Dongcheng, Xicheng) is densest, then the inner urban districts (Chaoyang, Haidian, Fengtai,
Shijingshan), the new towns of the plain, and finally the mountainous outer districts (Huairou,
Miyun, Yanqing, Mentougou) where most ground is trees, fields and bare soil.

Same ``seed`` -> same sites, same bytes. Each tile has its own random stream seeded by
``(seed, adcode, index)``, so changing ``tiles_per_district`` does not change earlier tiles.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS

from pgssl_core.demo.districts import BEIJING_UTM_EPSG, load_beijing_districts
from pgssl_core.demo.scene_render import render_tile
from pgssl_core.errors import PgsslError

SYNTHETIC_LABEL = "SYNTHETIC imagery (generated, not a photograph of Beijing)"
TILE_SIZE = 256
RESOLUTION_M = 0.4

# Mean roof cover of built blocks per district (fraction of block area), the city's gradient.
DISTRICT_DENSITY: dict[str, float] = {
    "Dongcheng": 0.50, "Xicheng": 0.50,
    "Chaoyang": 0.36, "Haidian": 0.33, "Fengtai": 0.32, "Shijingshan": 0.30,
    "Tongzhou": 0.20, "Changping": 0.16, "Daxing": 0.17, "Shunyi": 0.15, "Fangshan": 0.11,
    "Pinggu": 0.07, "Mentougou": 0.05, "Huairou": 0.05, "Miyun": 0.05, "Yanqing": 0.04,
}  # fmt: skip

# Building styles by density class: courtyard houses only in the old core, slabs in the city.
_STYLES_CORE = {"courtyard": 0.55, "slab": 0.25, "house": 0.15, "industrial": 0.05}
_STYLES_URBAN = {"courtyard": 0.05, "slab": 0.55, "house": 0.2, "industrial": 0.2}
_STYLES_SUBURB = {"slab": 0.3, "house": 0.45, "industrial": 0.25}
_STYLES_RURAL = {"house": 0.85, "industrial": 0.15}


def district_styles(density: float) -> dict[str, float]:
    """Style weights for a district of mean block density ``density``."""
    if density >= 0.45:
        return _STYLES_CORE
    if density >= 0.25:
        return _STYLES_URBAN
    if density >= 0.1:
        return _STYLES_SUBURB
    return _STYLES_RURAL


@dataclass(frozen=True)
class SceneSite:
    """Where one synthetic tile lies: district, index within it, upper-left corner in UTM 50N metres."""

    adcode: int
    name_pinyin: str
    name_zh: str
    index: int
    x0: float  # easting of the upper-left corner, metres
    y0: float  # northing of the upper-left corner, metres
    density: float

    def transform(self, resolution_m: float = RESOLUTION_M) -> Affine:
        """Pixel -> UTM 50N affine transform (north up)."""
        return Affine(resolution_m, 0.0, self.x0, 0.0, -resolution_m, self.y0)

    @property
    def name(self) -> str:
        """A file-friendly tile name, e.g. ``beijing-Dongcheng-00``."""
        return f"beijing-{self.name_pinyin}-{self.index:02d}"


@dataclass(frozen=True)
class SceneTile:
    """One synthetic tile: ``image`` (H, W, 3) uint8 RGB, ``mask`` (H, W) uint8 0/1 (1 = building)."""

    site: SceneSite
    image: NDArray[np.uint8]
    mask: NDArray[np.uint8]
    transform: Affine
    crs: CRS
    meta: dict[str, object] = field(default_factory=dict)


def pick_sites(districts: gpd.GeoDataFrame | None = None, tiles_per_district: int = 4, seed: int = 0,
               tile_size: int = TILE_SIZE, resolution_m: float = RESOLUTION_M) -> list[SceneSite]:
    """Deterministic tile sites: ``tiles_per_district`` per district, each tile square inside it.

    Corners are snapped to whole metres; tiles of one district do not overlap. Ordered by adcode, index.
    """
    if tiles_per_district < 1:
        raise PgsslError("tiles per district must be at least 1")
    gdf = (districts if districts is not None else load_beijing_districts()).to_crs(BEIJING_UTM_EPSG)
    extent = tile_size * resolution_m
    sites: list[SceneSite] = []
    for row in gdf.sort_values("adcode").itertuples(index=False):
        rng = np.random.default_rng([seed, int(row.adcode)])
        shapely.prepare(row.geometry)
        minx, miny, maxx, maxy = row.geometry.bounds
        taken: list[shapely.Geometry] = []
        tries = 0
        while len(taken) < tiles_per_district:
            tries += 1
            if tries > 20000:
                raise PgsslError(f"cannot fit {tiles_per_district} tiles in district {row.name_pinyin}")
            x0 = float(np.floor(rng.uniform(minx, maxx - extent)))
            y0 = float(np.floor(rng.uniform(miny + extent, maxy)))
            box = shapely.box(x0, y0 - extent, x0 + extent, y0)
            if not row.geometry.contains(box) or any(box.intersects(t) for t in taken):
                continue
            taken.append(box)
            density = DISTRICT_DENSITY.get(row.name_pinyin, 0.1)
            sites.append(SceneSite(int(row.adcode), row.name_pinyin, row.name_zh, len(taken) - 1, x0, y0, density))
    return sites


def render_site(site: SceneSite, seed: int = 0, tile_size: int = TILE_SIZE,
                resolution_m: float = RESOLUTION_M) -> SceneTile:
    """Render the synthetic tile of ``site`` (deterministic in ``seed`` and the site)."""
    rng = np.random.default_rng([seed, site.adcode, site.index, 1])
    # Outer districts: more trees; core: fewer. Density jitters a little from tile to tile.
    vegetation = float(np.clip(0.35 - 0.5 * site.density + rng.normal(0, 0.04), 0.05, 0.45))
    image, mask = render_tile(rng, site.density, district_styles(site.density), size=tile_size,
                              resolution_m=resolution_m, vegetation=vegetation)
    meta = {
        "synthetic": True,
        "label": SYNTHETIC_LABEL,
        "district_adcode": site.adcode,
        "district": site.name_pinyin,
        "district_zh": site.name_zh,
        "site_index": site.index,
        "seed": seed,
        "resolution_m": resolution_m,
        "building_frac": float(mask.mean()),
    }
    return SceneTile(site, image, mask, site.transform(resolution_m), CRS.from_epsg(BEIJING_UTM_EPSG), meta)


def generate_beijing_scene(tiles_per_district: int = 4, seed: int = 0, tile_size: int = TILE_SIZE,
                           resolution_m: float = RESOLUTION_M,
                           districts: gpd.GeoDataFrame | None = None) -> Iterator[SceneTile]:
    """Yield the synthetic tiles of the whole demo scene, district by district (16 x tiles_per_district)."""
    for site in pick_sites(districts, tiles_per_district, seed, tile_size, resolution_m):
        yield render_site(site, seed, tile_size, resolution_m)
