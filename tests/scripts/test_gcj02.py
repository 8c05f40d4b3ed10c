"""GCJ-02 <-> WGS84: the known Beijing offset and the iterated inverse."""

from __future__ import annotations

import numpy as np
import pyproj

from scripts.gcj02 import gcj02_offset, gcj02_to_wgs84, wgs84_to_gcj02

GEOD = pyproj.Geod(ellps="WGS84")


def _east_north_m(lon0, lat0, lon1, lat1) -> tuple[float, float]:
    """East and north components (metres) of the geodesic from point 0 to point 1."""
    az, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    return dist * np.sin(np.radians(az)), dist * np.cos(np.radians(az))


def test_known_offset_in_beijing() -> None:
    # Tiananmen, WGS84: GCJ-02 puts it ~530 m east and ~150 m north.
    lon, lat = 116.3975, 39.9087
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    east, north = _east_north_m(lon, lat, float(g_lon), float(g_lat))
    assert 480 < east < 580
    assert 110 < north < 200


def test_offset_consistent_across_beijing() -> None:
    lon, lat = np.meshgrid(np.linspace(115.4, 117.5, 7), np.linspace(39.4, 41.1, 7))
    dlon, dlat = gcj02_offset(lon, lat)
    assert dlon.shape == lon.shape
    east = dlon * 111_320 * np.cos(np.radians(lat))
    north = dlat * 110_950
    assert np.all((east > 400) & (east < 650)), east
    assert np.all((north > 50) & (north < 300)), north


def test_round_trip_is_sub_millimetre() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(115.4, 117.5, 500)
    lat = rng.uniform(39.4, 41.1, 500)
    w_lon, w_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.abs(w_lon - lon).max() < 1e-8  # 1e-8 deg ~ 1 mm
    assert np.abs(w_lat - lat).max() < 1e-8
    # And the other way: forward(inverse(g)) == g.
    f_lon, f_lat = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert np.abs(f_lon - lon).max() < 1e-8 and np.abs(f_lat - lat).max() < 1e-8


def test_iterated_inverse_beats_one_step_inverse() -> None:
    g_lon, g_lat = np.array([116.40]), np.array([39.91])
    dlon, dlat = gcj02_offset(g_lon, g_lat)
    naive = (g_lon - dlon, g_lat - dlat)
    fwd_naive = wgs84_to_gcj02(*naive)
    fwd_iter = wgs84_to_gcj02(*gcj02_to_wgs84(g_lon, g_lat))
    err_naive = abs(float(fwd_naive[0][0] - g_lon[0])) + abs(float(fwd_naive[1][0] - g_lat[0]))
    err_iter = abs(float(fwd_iter[0][0] - g_lon[0])) + abs(float(fwd_iter[1][0] - g_lat[0]))
    assert err_naive > 1e-7  # the one-step inverse is off by decimetres to metres
    assert err_iter < err_naive / 1000


def test_no_offset_outside_china() -> None:
    lon, lat = wgs84_to_gcj02(np.array([2.35, -74.0]), np.array([48.85, 40.7]))
    assert np.allclose(lon, [2.35, -74.0]) and np.allclose(lat, [48.85, 40.7])
