"""Rooftop-PV potential on pvlib: irradiation on the module plane, capacity, yield and CO2 avoided.

Chain for one roof area A (m2) at latitude/longitude (deg):
  usable = A x usable_roof_share                                   (m2)
  capacity = usable x module_efficiency x 1 kW/m2 (STC irradiance)  (kWp)
  POA = annual plane-of-array irradiation (kWh/m2/yr): hourly Ineichen clear-sky GHI with pvlib's
        bundled Linke turbidity, scaled so that the annual horizontal sum equals annual_ghi, split
        into direct and diffuse with the Erbs model (so the lower, cloudier total gets a realistic
        diffuse share), transposed to tilt/azimuth with the Hay-Davies model
  generation = capacity x POA x (1 - system_losses) x inverter_efficiency  (kWh/yr, PVWatts-style:
        POA in kWh/m2 equals full-sun hours at 1 kW/m2)
  CO2 avoided = generation x grid emission factor                   (t/yr)
Scaling every hour by the same factor spreads clouds evenly over the year: a simplification whose
effect on the tilt gain is covered by the tilt and irradiation ranges.

Site defaults (``PVAssumptions.for_site``): unless the user sets them, the module faces the equator
(azimuth 180 deg north of the equator, 0 deg south of it), is tilted at the site's latitude (a
common rule of thumb for fixed racks; range +/- 10 deg; rounded to 0.1 deg), the grid emission
factor is the national average of the site's country (``grid_emissions.grid_factor``: a small
table with its sources; the world average, flagged, elsewhere), and the annual GHI is the site's own
clear-sky sum (Ineichen, pvlib's bundled Linke turbidity: offline) times a clear-sky index, rounded
to a whole kWh/m2 so that a slider can show exactly the value used. The
index (0.73, range 0.53-0.80) comes from measured data: pvlib's bundled TMY3 files give 0.77
(Greensboro, 36 N) and 0.53 (Sand Point, Alaska, 55 N), and Beijing's published 1,400-1,600
kWh/m2 over its clear-sky 1,988 kWh/m2 gives 0.70-0.80. A typical-year weather file (TMY3, EPW,
PVGIS; ``tmy_path``) replaces the estimate: its hourly GHI, DNI and DHI are used as they are.
``site_columns`` lists, per place, the values used and what each rests on, for tables and maps.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib

from pgssl_core.assess.grid_emissions import grid_factor
from pgssl_core.errors import PgsslError, first_line

STC_IRRADIANCE_KW_M2 = 1.0  # standard test conditions: capacity is rated at 1 kW/m2


@dataclass(frozen=True)
class Assumption:
    """A model parameter with its default, plausible low/high range, unit and source."""

    value: float
    low: float
    high: float
    unit: str
    source: str


def _a(value: float, low: float, high: float, unit: str, source: str):
    return field(default=Assumption(value, low, high, unit, source))


#: Assumptions that follow the site unless the user sets them.
SITE_DEFAULTS: tuple[str, ...] = ("tilt_deg", "azimuth_deg", "annual_ghi_kwh_m2", "emission_factor_t_mwh")
#: Half-width (deg) of the tilt range around a site or user tilt.
TILT_RANGE_DEG: float = 10.0
#: Relative half-width of the range around a user-set emission factor: year-to-year change of a grid,
#: as for China's published factor (an assumption, see ``grid_emissions``).
EF_RANGE_SHARE: float = 0.05
#: Distance (km) from a TMY station beyond which its weather is flagged as from elsewhere.
TMY_NEAR_KM: float = 50.0


@dataclass(frozen=True)
class PVAssumptions:
    """Every assumption of the PV chain, editable (``with_values``) and documented."""

    annual_ghi_kwh_m2: Assumption = _a(
        1450.0, 1400.0, 1600.0, "kWh/m2/yr",
        "ESTIMATE unless set: by default the site's own clear-sky GHI x clear_sky_index (see "
        "clear_sky_index), or the sum of a TMY file; the value shown is Beijing's (published annual "
        "global horizontal irradiation about 1,400-1,600 kWh/m2, Global Solar Atlas)")
    usable_roof_share: Assumption = _a(
        0.5, 0.3, 0.7, "fraction of footprint",
        "planning assumption: rooftop-PV studies exclude shading, obstructions and setbacks, leaving "
        "roughly 30-70% of roof area usable (e.g. NREL TP-6A20-65298, Gagnon et al. 2016)")
    module_efficiency: Assumption = _a(
        0.20, 0.18, 0.22, "fraction",
        "typical crystalline-silicon module efficiency of mainstream modules around 2022 (datasheets)")
    system_losses: Assumption = _a(
        0.14, 0.10, 0.20, "fraction",
        "PVWatts default total DC system losses of 14% (Dobos 2014, NREL TP-6A20-62641)")
    inverter_efficiency: Assumption = _a(
        0.96, 0.95, 0.98, "fraction", "PVWatts nominal inverter efficiency of 96% (Dobos 2014)")
    tilt_deg: Assumption = _a(
        30.0, 20.0, 40.0, "deg from horizontal",
        "site default unless set: tilt = |latitude| (rule of thumb for fixed racks), range +/- 10 deg; "
        "the value shown is a planning assumption for ~40 N (Beijing)")
    azimuth_deg: Assumption = _a(
        180.0, 180.0, 180.0, "deg clockwise from north",
        "site default unless set: facing the equator (180 deg north of it, 0 deg south of it)")
    clear_sky_index: Assumption = _a(
        0.73, 0.53, 0.80, "fraction of clear-sky GHI",
        "annual measured / clear-sky GHI: 0.77 and 0.53 in pvlib's bundled TMY3 files (Greensboro NC, "
        "Sand Point AK), 0.70-0.80 for Beijing's published 1,400-1,600 kWh/m2; used for the site GHI")
    emission_factor_t_mwh: Assumption = _a(
        0.5703, 0.54, 0.60, "tCO2/MWh",
        "site default unless set: the national grid average of the site's country (grid_emissions); the "
        "value shown is China's for 2022 (Ministry of Ecology and Environment), +/-5% for year-to-year change")
    #: Assumptions still following the site (``for_site``); setting one with ``with_values`` removes it.
    site_defaults: frozenset[str] = frozenset(SITE_DEFAULTS)
    #: A typical-year weather file (TMY3 .csv, EPW, PVGIS .json/.csv) for the site, or None.
    tmy_path: str | None = None

    def with_values(self, **values: float) -> PVAssumptions:
        """A copy with some central values replaced; they no longer follow the site.

        Ranges are widened to include the value, except for a site-following assumption (one of
        :data:`SITE_DEFAULTS`, followed or already resolved), whose range is rebuilt around the value
        (tilt +/- 10 deg, GHI with the clear-sky index's relative range, emission factor +/- 5%) and
        whose source says the user set it.
        """
        # Field name -> new Assumption; Any because dataclasses.replace checks ** keys against every field's type.
        changes: dict[str, Any] = {}
        for name, value in values.items():
            old: Assumption = getattr(self, name)
            value = float(value)
            if name in SITE_DEFAULTS:
                low, high = _site_range(name, value, self)
                changes[name] = replace(old, value=value, low=low, high=high, source=f"set by the user ({old.unit})")
            else:
                changes[name] = replace(old, value=value, low=min(old.low, value), high=max(old.high, value))
        return replace(self, site_defaults=self.site_defaults - set(values), **changes)

    def with_changed(self, **values: float) -> PVAssumptions:
        """``with_values`` for the values that differ from this object's own: for widgets that always
        return a value (an untouched slider keeps following the site)."""
        return self.with_values(**{name: value for name, value in values.items()
                                   if float(value) != getattr(self, name).value})

    def with_tmy(self, path: str | os.PathLike[str] | None) -> PVAssumptions:
        """A copy that takes the site's irradiation from a typical-year weather file (None: estimate)."""
        if path is not None:
            load_tmy(str(path))  # refuse an unreadable file now, with a one-line error
        return replace(self, tmy_path=None if path is None else str(path))

    def for_site(self, lat: float, lon: float) -> PVAssumptions:
        """These assumptions at ``lat``/``lon`` (deg): site-following ones made concrete (see module doc)."""
        if not self.site_defaults:
            return self
        changes: dict[str, Any] = {}  # field name -> new Assumption (Any: see with_values)
        if "azimuth_deg" in self.site_defaults:
            azimuth = 180.0 if lat >= 0 else 0.0
            changes["azimuth_deg"] = replace(self.azimuth_deg, value=azimuth, low=azimuth, high=azimuth,
                                             source=f"site default: facing the equator at {lat:.2f} deg")
        if "tilt_deg" in self.site_defaults:
            tilt = round(min(abs(lat), 90.0), 1)
            low, high = _site_range("tilt_deg", tilt, self)
            changes["tilt_deg"] = replace(self.tilt_deg, value=tilt, low=low, high=high,
                                          source=f"site default: tilt = |latitude| ({lat:.2f} deg), +/- 10 deg")
        if "annual_ghi_kwh_m2" in self.site_defaults:
            changes["annual_ghi_kwh_m2"] = _site_ghi(lat, lon, self)
        if "emission_factor_t_mwh" in self.site_defaults:
            grid = grid_factor(lat, lon)
            changes["emission_factor_t_mwh"] = replace(
                self.emission_factor_t_mwh, value=grid.value, low=grid.low, high=grid.high,
                source=f"site default: {grid.country} ({lat:.2f}, {lon:.2f}, coarse box lookup): {grid.source}")
        return replace(self, site_defaults=frozenset(), **changes)

    def table(self) -> pd.DataFrame:
        """One row per assumption: name, value, low, high, unit, source (for reports and the app)."""
        return pd.DataFrame([{"name": f.name, **vars(getattr(self, f.name))} for f in fields(self)
                             if isinstance(getattr(self, f.name), Assumption)])


@dataclass(frozen=True)
class Estimate:
    """A central value with its low/high range."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class PVResult:
    """PV potential of a roof area: usable m2, capacity MWp, generation GWh/yr, CO2 avoided t/yr."""

    usable_roof_m2: Estimate
    capacity_mwp: Estimate
    generation_gwh: Estimate
    co2_t: Estimate

    def as_columns(self) -> dict[str, float]:
        """Flat columns ``x``, ``x_low``, ``x_high`` for tables."""
        out: dict[str, float] = {}
        for f in fields(self):
            est: Estimate = getattr(self, f.name)
            out.update({f.name: est.value, f"{f.name}_low": est.low, f"{f.name}_high": est.high})
        return out


@lru_cache(maxsize=256)
def _clear_sky_year(lat: float, lon: float, year: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Hourly (mid-hour, UTC) solar position, Ineichen clear sky and extraterrestrial DNI for a year."""
    times = pd.date_range(f"{year}-01-01 00:30", f"{year}-12-31 23:30", freq="1h", tz="UTC")
    location = pvlib.location.Location(lat, lon)
    solpos = location.get_solarposition(times)
    turbidity = pvlib.clearsky.lookup_linke_turbidity(times, lat, lon)
    clear = location.get_clearsky(times, model="ineichen", solar_position=solpos, linke_turbidity=turbidity)
    return solpos, clear, pvlib.irradiance.get_extra_radiation(times)


@lru_cache(maxsize=1024)
def annual_poa_kwh_m2(lat: float, lon: float, tilt_deg: float, azimuth_deg: float, annual_ghi_kwh_m2: float,
                      year: int = 2023) -> float:
    """Annual plane-of-array irradiation (kWh/m2/yr) for the given plane and annual GHI.

    Hourly Ineichen clear-sky GHI (pvlib's bundled Linke turbidity) is scaled so that its annual sum is
    ``annual_ghi_kwh_m2``, split with Erbs and transposed with Hay-Davies. Hourly sums: W/m2 over one
    hour = Wh/m2. Cached; ``lat``/``lon`` are rounded to 0.001 deg for the clear-sky year.

    Args:
        lat: latitude, deg (WGS84).
        lon: longitude, deg (WGS84).
        tilt_deg: module tilt, deg from horizontal.
        azimuth_deg: module azimuth, deg clockwise from north (180 = south).
        annual_ghi_kwh_m2: annual global horizontal irradiation, kWh/m2/yr.
        year: the calendar year whose hours are simulated (only the sun's path depends on it).

    Returns:
        Annual irradiation on the module plane, kWh/m2/yr.
    """
    solpos, clear, dni_extra = _clear_sky_year(round(lat, 3), round(lon, 3), year)
    ghi = clear["ghi"] * (annual_ghi_kwh_m2 * 1000.0 / float(clear["ghi"].sum()))
    split = pvlib.irradiance.erbs(ghi, solpos["apparent_zenith"], ghi.index)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"], split["dni"], ghi, split["dhi"],
        dni_extra=dni_extra, model="haydavies")
    return float(np.nansum(poa["poa_global"].to_numpy())) / 1000.0


def _site_range(name: str, value: float, a: PVAssumptions) -> tuple[float, float]:
    """``(low, high)`` around a site-following value (tilt +/- 10 deg; GHI: clear-sky index's spread;
    emission factor +/- :data:`EF_RANGE_SHARE`)."""
    if name == "emission_factor_t_mwh":
        return max(0.0, value * (1.0 - EF_RANGE_SHARE)), value * (1.0 + EF_RANGE_SHARE)
    if name == "tilt_deg":
        return max(0.0, value - TILT_RANGE_DEG), min(90.0, value + TILT_RANGE_DEG)
    if name == "annual_ghi_kwh_m2":
        k = a.clear_sky_index
        return value * k.low / k.value, value * k.high / k.value
    return value, value


@lru_cache(maxsize=256)
def clear_sky_annual_ghi_kwh_m2(lat: float, lon: float, year: int = 2023) -> float:
    """Annual clear-sky GHI (kWh/m2/yr) at ``lat``/``lon`` (deg): Ineichen with pvlib's bundled Linke turbidity.

    The hourly (mid-hour, UTC) values of ``year`` are summed; places are rounded to 0.001 deg and cached.
    """
    _, clear, _ = _clear_sky_year(round(lat, 3), round(lon, 3), year)
    return float(clear["ghi"].sum()) / 1000.0


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (km) on a 6,371 km sphere (ample for "is the station near")."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0 * math.acos(max(-1.0, min(1.0, c)))


def _site_ghi(lat: float, lon: float, a: PVAssumptions) -> Assumption:
    """The site's annual GHI assumption: from the TMY file, else clear-sky x clear-sky index."""
    if a.tmy_path is not None:
        tmy = load_tmy(a.tmy_path)
        away = _distance_km(lat, lon, tmy.lat, tmy.lon)
        where = "" if away <= TMY_NEAR_KM else f"; WARNING: station {away:,.0f} km away"
        return replace(a.annual_ghi_kwh_m2, value=tmy.annual_ghi_kwh_m2, low=tmy.annual_ghi_kwh_m2,
                       high=tmy.annual_ghi_kwh_m2, source=f"TMY file {Path(a.tmy_path).name}{where}")
    clear = clear_sky_annual_ghi_kwh_m2(lat, lon)
    k = a.clear_sky_index
    value = float(round(clear * k.value))  # whole kWh/m2: what a slider shows is what is used
    return replace(a.annual_ghi_kwh_m2, value=value, low=clear * k.low, high=clear * k.high,
                   source=f"ESTIMATE: site clear-sky GHI {clear:,.0f} kWh/m2 x clear-sky index {k.value:g} "
                          f"({k.low:g}-{k.high:g})")


@dataclass(frozen=True)
class TypicalYear:
    """Hourly irradiance of a typical-year file: ``weather`` (ghi, dni, dhi in W/m2, UTC index)."""

    weather: pd.DataFrame
    lat: float
    lon: float
    name: str

    @property
    def annual_ghi_kwh_m2(self) -> float:
        """Annual global horizontal irradiation in kWh/m2: the sum of hourly GHI (W/m2 x 1 h) / 1000."""
        return float(self.weather["ghi"].sum()) / 1000.0


@lru_cache(maxsize=8)
def load_tmy(path: str) -> TypicalYear:
    """Read a typical-year file with pvlib: TMY3 (.csv), EnergyPlus EPW (.epw), PVGIS TMY (.json/.csv).

    Args:
        path: the file; its suffix chooses the pvlib readers tried. Cached per path.

    Returns:
        Hourly ``ghi``, ``dni``, ``dhi`` (W/m2, UTC index), the station's lat/lon (deg) and the file name.

    Raises:
        PgsslError: (one line) the file is missing, none of the readers takes it, or it has fewer than
            8,000 hourly rows (a typical year has 8,760).
    """
    p = Path(path)
    if not p.is_file():
        raise PgsslError(f"TMY file not found: {p.name}")
    readers = []
    suffix = p.suffix.lower()
    if suffix == ".epw":
        readers.append(lambda: pvlib.iotools.read_epw(p))
    if suffix == ".json":
        readers.append(lambda: pvlib.iotools.read_pvgis_tmy(p, map_variables=True)[:2:])
    if suffix == ".csv":
        readers.append(lambda: pvlib.iotools.read_tmy3(p, map_variables=True))
        readers.append(lambda: pvlib.iotools.read_pvgis_tmy(p, outputformat="csv", map_variables=True)[:2:])
    problems = []
    for read in readers:
        try:
            data, meta = read()
            weather = data[["ghi", "dni", "dhi"]].astype(float)
            lat = float(meta.get("latitude", meta.get("lat")))
            lon = float(meta.get("longitude", meta.get("lon")))
        except Exception as exc:  # noqa: BLE001 - try the next reader, report all if none fits
            problems.append(first_line(exc))
            continue
        if len(weather) < 8000:
            raise PgsslError(f"{p.name}: a typical year has 8,760 hourly rows, this file has {len(weather)}")
        index = weather.index
        weather.index = index.tz_convert("UTC") if index.tz is not None else index.tz_localize("UTC")
        return TypicalYear(weather, lat, lon, p.name)
    raise PgsslError(f"{p.name}: not a TMY3, EPW or PVGIS typical-year file"
                     + (f" ({problems[-1]})" if problems else f" (suffix {suffix or 'none'})"))


@lru_cache(maxsize=1024)
def tmy_poa_kwh_m2(path: str, tilt_deg: float, azimuth_deg: float, scale: float = 1.0) -> float:
    """Annual plane-of-array irradiation (kWh/m2/yr) from a TMY file's hourly GHI/DNI/DHI, Hay-Davies.

    Args:
        path: the typical-year file (see :func:`load_tmy`).
        tilt_deg: module tilt, deg from horizontal.
        azimuth_deg: module azimuth, deg clockwise from north.
        scale: multiplies every hour (a user-set annual GHI over the file's own sum).

    Returns:
        Annual irradiation on the module plane, kWh/m2/yr (solar position at mid-hour at the station).

    Raises:
        PgsslError: the file cannot be read (see :func:`load_tmy`).
    """
    tmy = load_tmy(path)
    w = tmy.weather * scale
    # Mid-hour solar position: hourly TMY values are sums over the hour ending at the stamp.
    solpos = pvlib.solarposition.get_solarposition(w.index - pd.Timedelta(minutes=30), tmy.lat, tmy.lon)
    solpos.index = w.index
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"], w["dni"], w["ghi"], w["dhi"],
        dni_extra=pvlib.irradiance.get_extra_radiation(w.index), model="haydavies")
    return float(np.nansum(poa["poa_global"].to_numpy())) / 1000.0


def _poa(lat: float, lon: float, tilt: float, az: float, ghi: float, a: PVAssumptions) -> float:
    if a.tmy_path is None:
        return annual_poa_kwh_m2(lat, lon, tilt, az, ghi)
    return tmy_poa_kwh_m2(a.tmy_path, tilt, az, ghi / load_tmy(a.tmy_path).annual_ghi_kwh_m2)


def _poa_range(lat: float, lon: float, a: PVAssumptions) -> Estimate:
    """POA at the central assumptions, and min/max over the tilt and GHI ranges (``a`` resolved)."""
    az = a.azimuth_deg.value
    central = _poa(lat, lon, a.tilt_deg.value, az, a.annual_ghi_kwh_m2.value, a)
    tilts = {a.tilt_deg.low, a.tilt_deg.value, a.tilt_deg.high}
    low = min(_poa(lat, lon, t, az, a.annual_ghi_kwh_m2.low, a) for t in tilts)
    high = max(_poa(lat, lon, t, az, a.annual_ghi_kwh_m2.high, a) for t in tilts)
    return Estimate(central, low, high)


def site_columns(lat: float, lon: float, assumptions: PVAssumptions | None = None) -> dict[str, float | str]:
    """The PV inputs used at ``lat``/``lon`` and what each rests on (columns for the CSV and the map).

    Args:
        lat: latitude, deg (WGS84).
        lon: longitude, deg (WGS84).
        assumptions: the PV assumptions (default :class:`PVAssumptions`), resolved for this site.

    Returns:
        ``pv_tilt_deg`` (deg), ``pv_azimuth_deg`` (deg from north), ``pv_annual_ghi_kwh_m2``
        (kWh/m2/yr), ``pv_emission_factor_t_mwh`` (tCO2/MWh) and ``pv_basis``: one line naming the
        source of each of the four (site default, user value, estimate, TMY file or grid table).
    """
    a = (assumptions or PVAssumptions()).for_site(lat, lon)
    basis = "; ".join(f"{label}: {getattr(a, name).source}" for label, name in
                      (("GHI", "annual_ghi_kwh_m2"), ("tilt", "tilt_deg"), ("azimuth", "azimuth_deg"),
                       ("grid", "emission_factor_t_mwh")))
    return {"pv_tilt_deg": a.tilt_deg.value, "pv_azimuth_deg": a.azimuth_deg.value,
            "pv_annual_ghi_kwh_m2": a.annual_ghi_kwh_m2.value,
            "pv_emission_factor_t_mwh": a.emission_factor_t_mwh.value, "pv_basis": basis}


def pv_potential(roof_area_m2: float, lat: float, lon: float, assumptions: PVAssumptions | None = None) -> PVResult:
    """PV potential of ``roof_area_m2`` (footprint m2) at ``lat``/``lon`` (deg, WGS84); see module doc.

    Site-following assumptions (equator-facing azimuth, latitude tilt, site GHI) are resolved for
    this place first (``PVAssumptions.for_site``). Capacity is rated at STC irradiance
    (:data:`STC_IRRADIANCE_KW_M2`, 1 kW/m2); every default and its source is in :class:`PVAssumptions`.

    Args:
        roof_area_m2: building footprint area, m2.
        lat: latitude, deg (WGS84).
        lon: longitude, deg (WGS84).
        assumptions: the PV assumptions (default :class:`PVAssumptions`).

    Returns:
        Usable roof (m2), capacity (MWp), generation (GWh/yr) and CO2 avoided (t/yr), each with a low and
        high value: every assumption at the end of its range that lowers (raises) the result, and the
        minimum (maximum) irradiation over the tilt and GHI ranges.

    Raises:
        PgsslError: the assumptions' TMY file cannot be read.
    """
    a = (assumptions or PVAssumptions()).for_site(lat, lon)
    poa = _poa_range(lat, lon, a)

    def chain(share: float, eff: float, poa_kwh: float, losses: float, inverter: float, ef: float):
        usable = roof_area_m2 * share
        kwp = usable * eff * STC_IRRADIANCE_KW_M2
        kwh = kwp * poa_kwh * (1.0 - losses) * inverter
        return usable, kwp / 1000.0, kwh / 1e6, kwh / 1000.0 * ef

    mid = chain(a.usable_roof_share.value, a.module_efficiency.value, poa.value, a.system_losses.value,
                a.inverter_efficiency.value, a.emission_factor_t_mwh.value)
    low = chain(a.usable_roof_share.low, a.module_efficiency.low, poa.low, a.system_losses.high,
                a.inverter_efficiency.low, a.emission_factor_t_mwh.low)
    high = chain(a.usable_roof_share.high, a.module_efficiency.high, poa.high, a.system_losses.low,
                 a.inverter_efficiency.high, a.emission_factor_t_mwh.high)
    return PVResult(*(Estimate(m, lo, hi) for m, lo, hi in zip(mid, low, high)))
