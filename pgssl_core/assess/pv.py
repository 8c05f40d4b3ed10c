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
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib

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


@dataclass(frozen=True)
class PVAssumptions:
    """Every assumption of the PV chain, editable (``with_values``) and documented."""

    annual_ghi_kwh_m2: Assumption = _a(
        1450.0, 1400.0, 1600.0, "kWh/m2/yr",
        "ESTIMATE for Beijing: published annual global horizontal irradiation is about 1,400-1,600 "
        "kWh/m2 (national solar-resource maps, Global Solar Atlas); replace with site data when known")
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
        "planning assumption for fixed racks at ~40 N (Beijing); the range spans common roof racks")
    azimuth_deg: Assumption = _a(180.0, 180.0, 180.0, "deg clockwise from north", "south-facing modules")
    emission_factor_t_mwh: Assumption = _a(
        0.5703, 0.54, 0.60, "tCO2/MWh",
        "China national grid average emission factor for 2022 (Ministry of Ecology and Environment); "
        "the +/-5% range is an assumption for year-to-year change")

    def with_values(self, **values: float) -> PVAssumptions:
        """A copy with some central values replaced (ranges widened to include them)."""
        changes = {}
        for name, value in values.items():
            old: Assumption = getattr(self, name)
            changes[name] = replace(old, value=float(value), low=min(old.low, value), high=max(old.high, value))
        return replace(self, **changes)

    def table(self) -> pd.DataFrame:
        """One row per assumption: name, value, low, high, unit, source (for reports and the app)."""
        return pd.DataFrame([{"name": f.name, **vars(getattr(self, f.name))} for f in fields(self)])


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

    Hourly sums: W/m2 over one hour = Wh/m2.
    """
    solpos, clear, dni_extra = _clear_sky_year(round(lat, 3), round(lon, 3), year)
    ghi = clear["ghi"] * (annual_ghi_kwh_m2 * 1000.0 / float(clear["ghi"].sum()))
    split = pvlib.irradiance.erbs(ghi, solpos["apparent_zenith"], ghi.index)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg, azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"], split["dni"], ghi, split["dhi"],
        dni_extra=dni_extra, model="haydavies")
    return float(np.nansum(poa["poa_global"].to_numpy())) / 1000.0


def _poa_range(lat: float, lon: float, a: PVAssumptions) -> Estimate:
    """POA at the central assumptions, and min/max over the tilt and GHI ranges."""
    az = a.azimuth_deg.value
    central = annual_poa_kwh_m2(lat, lon, a.tilt_deg.value, az, a.annual_ghi_kwh_m2.value)
    tilts = {a.tilt_deg.low, a.tilt_deg.value, a.tilt_deg.high}
    low = min(annual_poa_kwh_m2(lat, lon, t, az, a.annual_ghi_kwh_m2.low) for t in tilts)
    high = max(annual_poa_kwh_m2(lat, lon, t, az, a.annual_ghi_kwh_m2.high) for t in tilts)
    return Estimate(central, low, high)


def pv_potential(roof_area_m2: float, lat: float, lon: float, assumptions: PVAssumptions | None = None) -> PVResult:
    """PV potential of ``roof_area_m2`` (footprint m2) at ``lat``/``lon`` (deg, WGS84); see module doc."""
    a = assumptions or PVAssumptions()
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
