"""Rendering of one SYNTHETIC aerial tile (image + exact building mask) with numpy/scipy.

Nothing here is real imagery: a tile is painted from random but plausible ingredients, seen from
straight above at ``resolution_m`` metres per pixel, north up:

- ground: bare soil, grass and paving blended by smooth noise fields, with fine texture;
- streets: an axis-aligned grid whose spacing shrinks with building density (asphalt or dirt);
- trees: crown blobs (smoothed impulses), shaded on their sunlit side;
- buildings: rectangles, L shapes and courtyard houses of several styles (courtyard, house,
  slab, industrial) with gable or flat roofs, ridge shading consistent with the sun, parapets,
  rooftop units and the odd solar array;
- shadows: ray-marched over the height map towards the sun (azimuth/elevation), so every shadow
  falls on the side away from the sun and has a length set by the height;
- camera: slight blur, illumination gradient, colour jitter and sensor noise.

Roof colours deliberately overlap with roads, paving, soil and vegetation so that a network cannot
segment by colour alone. All drawing is vectorised per building/step; there are no per-pixel loops.
The mask is exact: 1 where a roof is painted, 0 elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

# Sun for a Beijing early afternoon: from the south-south-west, 45 degrees up.
SUN_AZIMUTH_DEG = 200.0  # clockwise from north, direction the light comes FROM
SUN_ELEVATION_DEG = 45.0

# Roof palettes (RGB in 0..1). Several overlap on purpose with ground/road colours below.
ROOF_COLOURS: dict[str, tuple[float, float, float]] = {
    "grey_tile": (0.33, 0.34, 0.36),  # hutong tiles ~ asphalt
    "concrete": (0.62, 0.61, 0.58),  # ~ paving
    "light": (0.80, 0.79, 0.76),
    "red_tile": (0.62, 0.33, 0.26),
    "blue_steel": (0.32, 0.47, 0.66),
    "tan": (0.64, 0.55, 0.42),  # ~ soil
    "green": (0.36, 0.47, 0.38),  # ~ vegetation
}
STYLE_PALETTES: dict[str, tuple[str, ...]] = {
    "courtyard": ("grey_tile", "grey_tile", "grey_tile", "red_tile"),
    "house": ("red_tile", "grey_tile", "concrete", "tan", "blue_steel", "green", "light"),
    "slab": ("concrete", "light", "concrete", "tan", "red_tile", "grey_tile"),
    "industrial": ("blue_steel", "light", "concrete", "grey_tile", "green"),
}
SOIL = np.array([0.58, 0.52, 0.43], dtype=np.float32)
GRASS = np.array([0.36, 0.44, 0.27], dtype=np.float32)
PAVING = np.array([0.56, 0.55, 0.53], dtype=np.float32)
ASPHALT = np.array([0.36, 0.36, 0.37], dtype=np.float32)
DIRT_ROAD = np.array([0.60, 0.54, 0.45], dtype=np.float32)
TREE = np.array([0.20, 0.31, 0.16], dtype=np.float32)


@dataclass(frozen=True)
class Building:
    """One roof: axis-aligned rectangle in pixels (row, col of top-left; height, width), metres tall."""

    r0: int
    c0: int
    h: int
    w: int
    height_m: float
    colour: tuple[float, float, float]
    roof: str  # "gable" | "flat"


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> NDArray[np.float32]:
    """Gaussian-smoothed white noise rescaled to zero mean, unit std; shape (H, W)."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma, mode="wrap")
    return (field - field.mean()) / (field.std() + 1e-6)


def _clip(r0: int, c0: int, h: int, w: int, size: int) -> tuple[slice, slice] | None:
    """Slices of a rectangle clipped to a size x size tile, or None if nothing is left."""
    r1, c1 = min(r0 + h, size), min(c0 + w, size)
    r0, c0 = max(r0, 0), max(c0, 0)
    if r1 <= r0 or c1 <= c0:
        return None
    return slice(r0, r1), slice(c0, c1)


def _sun_vectors() -> tuple[NDArray[np.float64], float]:
    """Unit vector (drow, dcol) pointing FROM a pixel TOWARDS the sun in image axes, and tan(elev)."""
    az = math.radians(SUN_AZIMUTH_DEG)
    # North is up (row decreases), east is right (col increases).
    return np.array([-math.cos(az), math.sin(az)]), math.tan(math.radians(SUN_ELEVATION_DEG))


def _street_grid(rng: np.random.Generator, size: int,
                 density: float) -> tuple[NDArray[np.bool_], list[tuple[int, int, int, int]], bool]:
    """Road mask (H, W) bool, the blocks between roads as (r0, c0, r1, c1), and whether roads are paved.

    Denser districts get closer, wider, paved streets; rural tiles get at most one dirt track.
    """
    paved = density > 0.08 or rng.random() < 0.4
    if density > 0.25:
        spacing, width = rng.integers(110, 190), rng.integers(8, 18)
    elif density > 0.1:
        spacing, width = rng.integers(110, 200), rng.integers(8, 18)
    else:
        spacing, width = rng.integers(180, 400), rng.integers(5, 12)

    def cuts() -> list[int]:
        start = int(rng.integers(-spacing // 2, spacing // 2))
        return [p for p in range(start, size, int(spacing)) if -width < p < size]

    rows, cols = np.zeros(size, bool), np.zeros(size, bool)
    row_cuts, col_cuts = cuts(), cuts()
    if density <= 0.1 and rng.random() < 0.5:
        col_cuts = []  # a single track across the tile
    for p in row_cuts:
        rows[max(p, 0) : p + width] = True
    for p in col_cuts:
        cols[max(p, 0) : p + width] = True
    road = rows[:, None] | cols[None, :]
    # Blocks: complement intervals of the 1-D road masks, extended beyond the tile at its edges so
    # that buildings may be cut by the tile border like in a real mosaic.
    def spans(mask: NDArray[np.bool_]) -> list[tuple[int, int]]:
        edges = np.flatnonzero(np.diff(np.concatenate([[True], mask, [True]]).astype(np.int8)))
        out = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        return [(a - 40 if a == 0 else a, b + 40 if b == size else b) for a, b in out]

    blocks = [(r0, c0, r1, c1) for r0, r1 in spans(rows) for c0, c1 in spans(cols)]
    return road, blocks, paved


def _candidate(rng: np.random.Generator, style: str, block: tuple[int, int, int, int],
               px_per_m: float) -> list[Building]:
    """One candidate building (or L-shaped pair) of ``style`` at a random place inside ``block`` (pixels).

    ``style`` is "house", "slab" or "industrial"; courtyards are packed by ``_courtyard_rows``.
    """
    r0b, c0b, r1b, c1b = block
    pal = STYLE_PALETTES[style]
    colour_name = pal[int(rng.integers(len(pal)))]
    jitter = rng.normal(0.0, 0.04, 3)
    red, green, blue = (float(np.clip(c + j, 0.05, 0.95))
                        for c, j in zip(ROOF_COLOURS[colour_name], jitter, strict=True))
    colour = (red, green, blue)

    def m(lo: float, hi: float) -> int:  # a size drawn in metres, returned in pixels
        return max(3, int(round(rng.uniform(lo, hi) * px_per_m)))

    if style == "house":
        h, w = m(7, 16), m(7, 16)
        hgt, roof = float(rng.uniform(3, 9)), ("gable" if rng.random() < 0.6 else "flat")
    elif style == "slab":
        long_, short = m(30, 70), m(11, 17)
        h, w = (short, long_) if rng.random() < 0.75 else (long_, short)  # mostly east-west slabs
        hgt, roof = float(rng.uniform(15, 60)), "flat"
    else:  # industrial
        h, w = m(20, 60), m(20, 60)
        hgt, roof = float(rng.uniform(7, 14)), ("flat" if rng.random() < 0.7 else "gable")
    h, w = min(h, r1b - r0b), min(w, c1b - c0b)
    r, c = _place(rng, block, h, w)
    parts = [Building(r, c, h, w, hgt, colour, roof)]
    if style in ("house", "industrial") and rng.random() < 0.25:  # an L-shaped annex
        ah, aw = max(3, h // 2), max(3, int(w * rng.uniform(0.3, 0.6)))
        parts.append(Building(r + h, c, ah, aw, hgt, colour, roof))
    return parts


def _place(rng: np.random.Generator, block: tuple[int, int, int, int], h: int, w: int) -> tuple[int, int]:
    """Random top-left (row, col) so that an h x w rectangle fits in ``block`` with a 2 px margin."""
    r0b, c0b, r1b, c1b = block
    r = int(rng.integers(r0b + 2, max(r0b + 3, r1b - h - 1)))
    c = int(rng.integers(c0b + 2, max(c0b + 3, c1b - w - 1)))
    return r, c


def _layout(rng: np.random.Generator, size: int, density: float, styles: dict[str, float],
            blocks: list[tuple[int, int, int, int]], px_per_m: float) -> list[Building]:
    """Buildings placed block by block until each block reaches its coverage target (no overlaps)."""
    occupied = np.zeros((size + 200, size + 200), bool)  # padded: blocks reach 40 px beyond the tile
    pad = 100
    names, probs = list(styles), np.array(list(styles.values()), dtype=float)
    probs /= probs.sum()
    placed: list[Building] = []
    for block in blocks:
        r0b, c0b, r1b, c1b = block
        area = (r1b - r0b) * (c1b - c0b)
        if r1b - r0b < 12 or c1b - c0b < 12:
            continue
        target = area * float(np.clip(density * rng.lognormal(0.0, 0.35), 0.0, 0.75))
        style = names[int(rng.choice(len(names), p=probs))]  # one style per block: coherent blocks
        if style == "courtyard":
            placed.extend(_courtyard_rows(rng, block, density, px_per_m, occupied, pad))
            continue
        covered, misses = 0, 0
        while covered < target and misses < 40:
            parts = _candidate(rng, style, block, px_per_m)
            if covered + sum(b.h * b.w for b in parts) > 1.3 * target + 400:  # a big roof would overshoot
                misses += 1
                continue
            boxes = [(b.r0 + pad - 2, b.c0 + pad - 2, b.r0 + b.h + pad + 2, b.c0 + b.w + pad + 2) for b in parts]
            inside = all(b.r0 >= r0b and b.c0 >= c0b and b.r0 + b.h <= r1b and b.c0 + b.w <= c1b for b in parts)
            if (not inside or any(b.h < 3 or b.w < 3 for b in parts)
                    or any(occupied[a:c, b_:d].any() for a, b_, c, d in boxes)):
                misses += 1
                continue
            for a, b_, c, d in boxes:
                occupied[a:c, b_:d] = True
            placed.extend(parts)
            covered += sum(b.h * b.w for b in parts)
    return placed


def _courtyard_rows(rng: np.random.Generator, block: tuple[int, int, int, int], density: float,
                    px_per_m: float, occupied: NDArray[np.bool_], pad: int) -> list[Building]:
    """Pack a block with courtyard houses on a regular grid (old-city hutong fabric).

    Each grid cell holds, with a probability rising with ``density``, either a courtyard (four
    wings around a yard) or a solid house; the rest stays open (yards, trees, small squares).
    """
    r0b, c0b, r1b, c1b = block
    side = max(20, int(round(rng.uniform(13, 18) * px_per_m)))
    gap = int(rng.integers(2, 5))
    fill = float(np.clip(0.4 + density, 0.3, 0.95))
    out: list[Building] = []
    for r in range(r0b + 2, r1b - side - 1, side + gap):
        for c in range(c0b + 2, c1b - side - 1, side + gap):
            if rng.random() > fill:
                continue
            pal = STYLE_PALETTES["courtyard"]
            colour_name = pal[int(rng.integers(len(pal)))]
            red, green, blue = (float(np.clip(v + rng.normal(0, 0.03), 0.05, 0.95))
                                for v in ROOF_COLOURS[colour_name])
            colour = (red, green, blue)
            hgt = float(rng.uniform(4, 6))
            if rng.random() < 0.75:
                wing = max(3, int(side * rng.uniform(0.22, 0.3)))
                inner = side - 2 * wing - 2
                parts = [
                    Building(r, c, wing, side, hgt, colour, "gable"),
                    Building(r + side - wing, c, wing, side, hgt, colour, "gable"),
                    Building(r + wing + 1, c, inner, wing, hgt, colour, "gable"),
                    Building(r + wing + 1, c + side - wing, inner, wing, hgt, colour, "gable"),
                ]
            else:
                parts = [Building(r, c, side, side, hgt + 2, colour, "flat" if rng.random() < 0.5 else "gable")]
            if occupied[r + pad : r + side + pad, c + pad : c + side + pad].any():
                continue
            occupied[r + pad : r + side + pad, c + pad : c + side + pad] = True
            out.extend(parts)
    return out


def _paint_roof(img: NDArray[np.float32], b: Building, rng: np.random.Generator, size: int) -> None:
    """Paint one roof into ``img`` (H, W, 3) in place: base colour, ridge shading, texture, details."""
    sl = _clip(b.r0, b.c0, b.h, b.w, size)
    if sl is None:
        return
    rows = np.arange(sl[0].start, sl[0].stop)[:, None] - b.r0  # local coordinates in the full roof
    cols = np.arange(sl[1].start, sl[1].stop)[None, :] - b.c0
    to_sun, _ = _sun_vectors()
    base = np.array(b.colour, dtype=np.float32)
    shade = np.ones((rows.shape[0], cols.shape[1]), np.float32)
    if b.roof == "gable":
        # Ridge along the long axis; each half tilts towards its side, lit by the dot product of
        # its outward normal with the direction to the sun.
        if b.w >= b.h:
            side = np.where(rows < b.h / 2.0, -1.0, 1.0) * np.ones_like(cols)  # -1: north half
            normal_dot = side * to_sun[0]
            stripes = np.sin(cols * (2 * np.pi / 3.0)) * np.ones_like(rows)
        else:
            side = np.where(cols < b.w / 2.0, -1.0, 1.0) * np.ones_like(rows)  # -1: west half
            normal_dot = side * to_sun[1]
            stripes = np.sin(rows * (2 * np.pi / 3.0)) * np.ones_like(cols)
        shade = shade + 0.22 * normal_dot.astype(np.float32) + 0.03 * stripes.astype(np.float32)
    else:
        # Flat roof: a light parapet rim and a few dark rooftop units.
        rim = (rows < 2) | (rows >= b.h - 2) | (cols < 2) | (cols >= b.w - 2)
        shade = shade + 0.12 * rim.astype(np.float32)
    patch: NDArray[np.float32] = base[None, None, :] * shade[..., None]
    patch = patch + rng.normal(0.0, 0.015, size=patch.shape).astype(np.float32)
    img[sl] = patch
    if b.roof == "flat" and b.h > 12 and b.w > 12:
        n_units = int(rng.integers(0, 4))
        for _ in range(n_units):
            uh, uw = int(rng.integers(2, 5)), int(rng.integers(2, 6))
            s = _clip(b.r0 + int(rng.integers(3, b.h - uh - 2)), b.c0 + int(rng.integers(3, b.w - uw - 2)),
                      uh, uw, size)
            if s is not None:
                img[s] = img[s] * 0.6
        if rng.random() < 0.25 and b.h > 16 and b.w > 16:  # a solar array: dark blue panel rows
            s = _clip(b.r0 + 4, b.c0 + 4, b.h - 8, b.w - 8, size)
            if s is not None:
                rr = np.arange(s[0].start, s[0].stop)[:, None]
                panel = (((rr - b.r0) % 5) < 3) & np.ones((1, s[1].stop - s[1].start), bool)
                img[s] = np.where(panel[..., None], np.array([0.12, 0.16, 0.27], np.float32), img[s])


def _ray_shadow(height: NDArray[np.float32], resolution_m: float) -> NDArray[np.bool_]:
    """Pixels in shadow: some point towards the sun along the ray is higher than the ray there.

    ``height`` (H, W) metres above ground. Marches one pixel at a time towards the sun (a loop over
    distance steps, each step a whole-array comparison).
    """
    to_sun, tan_elev = _sun_vectors()
    size = height.shape[0]
    max_h = float(height.max())
    steps = int(min(max_h / (tan_elev * resolution_m), 1.5 * size)) + 1
    shadow = np.zeros_like(height, dtype=bool)
    padded = np.pad(height, size * 2)
    for k in range(1, steps + 1):
        dr, dc = int(round(k * to_sun[0])), int(round(k * to_sun[1]))
        # Height of the point k pixels towards the sun, for every pixel at once.
        ahead = padded[2 * size + dr : 3 * size + dr, 2 * size + dc : 3 * size + dc]
        shadow |= ahead > height + k * resolution_m * tan_elev
    return shadow


def render_tile(rng: np.random.Generator, density: float, styles: dict[str, float], *, size: int = 256,
                resolution_m: float = 0.4, vegetation: float = 0.2) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """Paint one SYNTHETIC tile.

    ``density``: target roof cover of the built blocks (0..0.75), ``styles``: building style ->
    weight, ``vegetation``: rough share of ground under trees. Returns ``image`` (size, size, 3)
    uint8 RGB and ``mask`` (size, size) uint8 with 1 = building roof, 0 = anything else.
    """
    px_per_m = 1.0 / resolution_m
    shape = (size, size)
    # Ground: soil/grass by one smooth field; paving takes over with density.
    g1, g2, g3 = (_smooth_noise(rng, shape, s) for s in (18.0, 6.0, 1.2))
    grass_w = 1.0 / (1.0 + np.exp(-(g1 + rng.normal(0.3 - 2.0 * density, 0.4)) * 2.0))
    ground = SOIL * (1 - grass_w[..., None]) + GRASS * grass_w[..., None]
    paved_w = np.clip(1.0 / (1.0 + np.exp(-(g2 * 0.5 + 4.0 * (density - 0.15)) * 3.0)), 0, 1)
    img = ground * (1 - paved_w[..., None]) + PAVING * paved_w[..., None]
    img = img * (1.0 + 0.06 * g2[..., None] + 0.05 * g3[..., None])
    img = img.astype(np.float32)

    road, blocks, paved = _street_grid(rng, size, density)
    road_colour = ASPHALT if paved else DIRT_ROAD
    img[road] = road_colour * (1.0 + 0.04 * g3[road][:, None])
    height = np.zeros(shape, np.float32)

    # Trees: impulses smoothed into crowns; taller where the field is higher (dome shape).
    n_trees = int(vegetation * size * size / 90.0)
    impulses = np.zeros(shape, np.float32)
    impulses[rng.integers(0, size, n_trees), rng.integers(0, size, n_trees)] = rng.uniform(0.6, 1.4, n_trees)
    crowns = ndimage.gaussian_filter(impulses, rng.uniform(2.5, 4.5)) * 60.0
    crowns = crowns + 0.25 * _smooth_noise(rng, shape, 1.5) * (crowns > 0.2)
    tree = crowns > 1.0
    if tree.any():
        to_sun, _ = _sun_vectors()
        gr, gc = np.gradient(crowns)
        lit = np.clip((gr * to_sun[0] + gc * to_sun[1]) * 0.8, -0.35, 0.35)  # sunlit side of a crown
        img[tree] = TREE * (1.0 + lit[tree][:, None] + 0.12 * g3[tree][:, None])
        height[tree] = np.clip(crowns[tree] * 2.5, 3.0, 12.0)

    buildings = _layout(rng, size, density, styles, blocks, px_per_m)
    mask = np.zeros(shape, np.uint8)
    for b in buildings:
        sl = _clip(b.r0, b.c0, b.h, b.w, size)
        if sl is None:
            continue
        _paint_roof(img, b, rng, size)
        mask[sl] = 1
        height[sl] = b.height_m

    # Shadows darken whatever they fall on (ground, trees, lower roofs) with a blue sky tint.
    shadow = _ray_shadow(height, resolution_m)
    img = np.where(shadow[..., None], img * np.array([0.42, 0.45, 0.55], np.float32), img)

    # Camera: mild optical blur, illumination gradient, per-tile colour jitter, sensor noise.
    img = ndimage.gaussian_filter(img, sigma=(0.6, 0.6, 0.0))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    illum = 1.0 + rng.uniform(-0.06, 0.06) * (yy - 0.5) + rng.uniform(-0.06, 0.06) * (xx - 0.5)
    gain = rng.uniform(0.9, 1.1) * rng.uniform(0.96, 1.04, 3).astype(np.float32)
    img = img * illum[..., None] * gain + rng.normal(0.0, 0.018, img.shape).astype(np.float32)
    image = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return image, mask
