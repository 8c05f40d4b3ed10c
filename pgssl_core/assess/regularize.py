"""Right-angle regularisation of building outlines (metric coordinates)."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LinearRing, Polygon


def dominant_angle(poly: Polygon) -> float:
    """Orientation (degrees) of the longest side of the minimum rotated rectangle."""
    rect = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)
    edges = np.diff(rect, axis=0)
    longest = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    return math.degrees(math.atan2(longest[1], longest[0]))


def _orthogonal_ring(coords: np.ndarray) -> np.ndarray | None:
    """Axis-aligned ring from an (already rotated) ring, or None when it cannot be squared.

    Each edge is classed horizontal or vertical by its larger extent; runs of same-class edges
    merge; a horizontal run keeps the length-weighted mean y of its vertices, a vertical run the
    mean x; corners are the crossings of consecutive runs.
    """
    pts = coords[:-1]
    n = len(pts)
    edges = np.roll(pts, -1, axis=0) - pts
    horizontal = np.abs(edges[:, 0]) >= np.abs(edges[:, 1])
    # Start at a class change so runs do not wrap around the ring's start.
    changes = np.nonzero(horizontal != np.roll(horizontal, 1))[0]
    if len(changes) < 4:
        return None
    runs: list[tuple[bool, float]] = []
    for k in range(len(changes)):
        a = changes[k]
        b = changes[(k + 1) % len(changes)]
        idx = [(i % n) for i in range(a, b if b > a else b + n)]
        lengths = np.hypot(edges[idx, 0], edges[idx, 1]) + 1e-9
        mids = pts[idx] + edges[idx] / 2.0
        axis = 1 if horizontal[a] else 0
        runs.append((bool(horizontal[a]), float(np.average(mids[:, axis], weights=lengths))))
    if len(runs) % 2:
        return None
    corners = []
    for k, (is_h, value) in enumerate(runs):
        _, prev_value = runs[k - 1]
        corners.append((prev_value, value) if is_h else (value, prev_value))
    corners.append(corners[0])
    return np.asarray(corners)


def regularize_polygon(poly: Polygon, max_area_change: float = 0.2) -> Polygon:
    """Square the corners of ``poly`` along its dominant orientation; holes squared too.

    Falls back to the input when the squared outline is invalid or changes the area by more
    than ``max_area_change`` (fraction).
    """
    angle = dominant_angle(poly)
    origin = poly.centroid
    rotated = affinity.rotate(poly, -angle, origin=origin)
    shell = _orthogonal_ring(np.asarray(rotated.exterior.coords))
    if shell is None:
        return poly
    holes = [h for h in (_orthogonal_ring(np.asarray(r.coords)) for r in rotated.interiors) if h is not None]
    try:
        squared = Polygon(LinearRing(shell), [LinearRing(h) for h in holes])
    except ValueError:
        return poly
    squared = affinity.rotate(squared, angle, origin=origin)
    if not squared.is_valid or squared.is_empty:
        return poly
    if abs(squared.area - poly.area) > max_area_change * poly.area:
        return poly
    return shapely.set_precision(squared, 0.0)
