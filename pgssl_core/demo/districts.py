"""Beijing's 16 districts as shipped with the app (``assets/beijing_districts.geojson``, WGS84)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from pgssl_core.errors import PgsslError
from pgssl_core.shipped import ASSETS_DIR

DISTRICTS_PATH: Path = ASSETS_DIR / "beijing_districts.geojson"

# Projected CRS for metric work in Beijing: UTM zone 50N (central meridian 117 E).
BEIJING_UTM_EPSG = 32650

# adcode -> (Chinese name, pinyin). 110103 (Chongwen) and 110104 (Xuanwu) were merged into
# Dongcheng and Xicheng in 2010, so these 16 codes are today's full set.
DISTRICT_NAMES: dict[int, tuple[str, str]] = {
    110101: ("东城区", "Dongcheng"),
    110102: ("西城区", "Xicheng"),
    110105: ("朝阳区", "Chaoyang"),
    110106: ("丰台区", "Fengtai"),
    110107: ("石景山区", "Shijingshan"),
    110108: ("海淀区", "Haidian"),
    110109: ("门头沟区", "Mentougou"),
    110111: ("房山区", "Fangshan"),
    110112: ("通州区", "Tongzhou"),
    110113: ("顺义区", "Shunyi"),
    110114: ("昌平区", "Changping"),
    110115: ("大兴区", "Daxing"),
    110116: ("怀柔区", "Huairou"),
    110117: ("平谷区", "Pinggu"),
    110118: ("密云区", "Miyun"),
    110119: ("延庆区", "Yanqing"),
}

DISTRICT_COLUMNS = ["adcode", "name_zh", "name_pinyin", "geometry"]


def load_beijing_districts(path: Path | None = None) -> gpd.GeoDataFrame:
    """The 16 districts: columns adcode (int), name_zh, name_pinyin, geometry (EPSG:4326).

    Rows are sorted by adcode. Raises ``PgsslError`` if the asset file is missing (rebuild it with
    ``python scripts/build_districts.py``).
    """
    path = Path(path) if path is not None else DISTRICTS_PATH
    if not path.is_file():
        raise PgsslError(f"district file {path} is missing: run `python scripts/build_districts.py`")
    gdf = gpd.read_file(path)
    gdf = gdf.set_crs(4326, allow_override=True) if gdf.crs is None else gdf.to_crs(4326)
    gdf["adcode"] = gdf["adcode"].astype(int)
    return gdf[DISTRICT_COLUMNS].sort_values("adcode").reset_index(drop=True)
