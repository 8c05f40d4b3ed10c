"""National grid emission factors (tCO2/MWh) and a coarse lookup of a site's country from its lat/lon.

Only one figure here is a published value we are sure of: China's 0.5703 tCO2/MWh (national grid
average for 2022, Ministry of Ecology and Environment). The others are APPROXIMATE national averages
of recent years, rounded, with the agency that publishes them; each carries a range wide enough for
the year-to-year swing, and the app and the report name the country and the source, so a user can
check it and set their own grid's figure (the slider runs from 0 to :data:`EF_MAX_T_MWH`).

Where the country is: no country-boundary library is installed, so each country is a few
latitude/longitude boxes (:data:`GRID_FACTORS`, first match wins, smaller countries listed first).
The boxes are coarse: a neighbour inside a box gets that box's country (e.g. Nepal and Bangladesh
fall in India's box, southern Canada in the United States', Korea in China's). The looked-up country
is always shown, never hidden. A site in no box gets the world average and is flagged ``known=False``
so the app asks the user for their grid's figure.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Top of the emission-factor slider (tCO2/MWh): above the most coal-heavy national grids
#: (South Africa about 0.9-1.0, India about 0.7), so every real grid fits.
EF_MAX_T_MWH: float = 1.2


@dataclass(frozen=True)
class GridFactor:
    """A grid's average emission factor: ``value`` with ``low``/``high`` (tCO2/MWh), where it comes from.

    ``boxes``: (south, north, west, east) in degrees WGS84; ``known``: False for the world-average fallback.
    """

    country: str
    value: float
    low: float
    high: float
    source: str
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    known: bool = True

    def contains(self, lat: float, lon: float) -> bool:
        """Whether ``lat``/``lon`` (deg) lies in one of the country's boxes."""
        return any(s <= lat <= n and w <= lon <= e for s, n, w, e in self.boxes)


#: Countries in lookup order (first box that holds the site wins; smaller or overlapping ones first).
GRID_FACTORS: tuple[GridFactor, ...] = (
    GridFactor("Japan", 0.45, 0.42, 0.49,
               "APPROXIMATE: Japan's national average of recent years, about 0.43-0.47 (Ministry of the "
               "Environment / METI published factors)", ((24.0, 45.6, 122.9, 146.0),)),
    GridFactor("India", 0.71, 0.68, 0.74,
               "APPROXIMATE: India's grid weighted average, about 0.71 in recent versions of the Central "
               "Electricity Authority's CO2 Baseline Database", ((6.7, 35.7, 68.1, 97.4),)),
    GridFactor("China", 0.5703, 0.54, 0.60,
               "China national grid average emission factor for 2022 (Ministry of Ecology and Environment); "
               "the +/-5% range is an assumption for year-to-year change",
               ((20.0, 53.6, 97.4, 134.8), (35.7, 49.2, 73.5, 97.4), (18.1, 20.0, 108.6, 111.1))),
    GridFactor("United States", 0.37, 0.34, 0.40,
               "APPROXIMATE: US national average CO2 output rate of about 820-860 lb/MWh in recent EPA eGRID "
               "editions (regional grids range widely)", ((24.5, 49.4, -124.8, -66.9),)),
    GridFactor("Brazil", 0.09, 0.04, 0.13,
               "APPROXIMATE: Brazil's interconnected grid (SIN), mostly hydro: about 0.04-0.13 in the annual "
               "average factors published by the Ministry of Science, Technology and Innovation (MCTI), "
               "higher in dry years", ((-33.8, 5.3, -74.0, -34.8),)),
    GridFactor("South Africa", 0.95, 0.90, 1.00,
               "APPROXIMATE: South Africa's coal-heavy grid, about 0.9-1.0 (Eskom's published grid factor)",
               ((-34.9, -22.1, 16.4, 32.9),)),
    GridFactor("Australia", 0.68, 0.60, 0.75,
               "APPROXIMATE: Australia's national average of about 0.68 (DCCEEW National Greenhouse Accounts "
               "Factors 2023; states range from about 0.1 to 0.8)", ((-43.7, -10.6, 113.1, 153.7),)),
)

#: The fallback where the site is in no box: it is flagged, and the app asks for the grid's own figure.
WORLD_AVERAGE = GridFactor(
    "world average (country not in the table)", 0.46, 0.30, 0.60,
    "APPROXIMATE: world average CO2 intensity of electricity generation, about 460 g/kWh in 2022 (IEA); "
    "SET YOUR GRID'S FACTOR: this site's country is not in the table", known=False)


def grid_factor(lat: float, lon: float) -> GridFactor:
    """The grid emission factor of the country at ``lat``/``lon`` (deg, WGS84), else the world average.

    Args:
        lat: latitude, deg (-90..90).
        lon: longitude, deg (any; wrapped to -180..180).

    Returns:
        The first entry of :data:`GRID_FACTORS` whose boxes hold the point (see the module doc for how
        coarse they are), or :data:`WORLD_AVERAGE` (``known`` False) when none does.
    """
    lon = ((lon + 180.0) % 360.0) - 180.0
    return next((g for g in GRID_FACTORS if g.contains(lat, lon)), WORLD_AVERAGE)
