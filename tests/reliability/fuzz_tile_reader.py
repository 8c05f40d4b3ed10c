"""Coverage-guided fuzzing of the tile reader (``probe_size`` and ``read_tile``) with atheris (libFuzzer).

Any exception other than ``TileError`` is a crash: atheris stops and writes the input to
``CRASH_DIR/crash-<sha1>``; copy it into ``tests/reliability/fuzz_regressions/`` and it becomes a test.
Without atheris, a seeded byte-mutation loop over the same seeds runs instead (no coverage guidance).

The suite runs it for a few seconds (``test_fuzz.py``); a longer run, from the repository root::

    .venv/bin/python tests/reliability/fuzz_tile_reader.py --seconds 600 --seed 2
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PNG = sorted((REPO_ROOT / "assets" / "oam_sample" / "images").glob("*.png"))[0]


def write_seeds(folder: Path) -> list[Path]:
    """Small real tiles of every accepted format: GeoTIFF (UTM, deflate), PNG, JPEG, WebP (40 px crops)."""
    import rasterio
    from PIL import Image
    from rasterio.transform import from_origin

    folder.mkdir(parents=True, exist_ok=True)
    crop = Image.open(SAMPLE_PNG).convert("RGB").crop((0, 0, 40, 40))
    pixels = np.asarray(crop).transpose(2, 0, 1)
    with rasterio.open(folder / "seed.tif", "w", driver="GTiff", width=40, height=40, count=3, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(448000, 4420000, 0.3, 0.3), compress="deflate") as dst:
        dst.write(pixels)
    crop.save(folder / "seed.png")
    crop.save(folder / "seed.jpg", quality=80)
    crop.save(folder / "seed.webp")
    return sorted(folder.iterdir())


def _target(work: Path):
    from pgssl_core.errors import TileError
    from pgssl_core.tiles import read_tile
    from pgssl_core.tiles.reader import probe_size

    def one(data: bytes) -> None:
        work.write_bytes(data)
        for reader in (probe_size, read_tile):
            try:
                reader(work)
            except TileError:
                pass  # refused in one line: the expected outcome for a bad file
    return one


def fuzz_with_atheris(corpus: Path, crashes: Path, seconds: int, seed: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["pgssl_core"]):
        one = _target(crashes / "current-input")
    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={seconds}", f"-seed={seed}",
                   f"-artifact_prefix={crashes}/", "-rss_limit_mb=3000", "-timeout=30", "-max_len=200000",
                   "-print_final_stats=1"], one)
    atheris.Fuzz()


def fuzz_with_mutations(corpus: Path, crashes: Path, seconds: int, seed: int) -> None:
    """Fallback: seeded random byte flips, overwrites, insertions and truncations of the seeds."""
    rng = np.random.default_rng(seed)
    seeds = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    one = _target(crashes / "current-input")
    runs, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = bytearray(seeds[int(rng.integers(len(seeds)))])
        for _ in range(int(rng.integers(1, 9))):
            op, at = int(rng.integers(4)), int(rng.integers(len(data) or 1))
            if op == 0 and data:
                data[at] ^= 1 << int(rng.integers(8))
            elif op == 1 and data:
                data[at:at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
            elif op == 2:
                data[at:at] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
            else:
                del data[at:]
        try:
            one(bytes(data))
        except Exception:
            name = crashes / f"crash-{hashlib.sha1(data).hexdigest()}"
            name.write_bytes(bytes(data))
            raise
        runs += 1
    print(f"Done {runs} runs in {seconds} second(s) (byte mutations, atheris not installed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crashes", type=Path, default=None, help="folder for crash inputs (default: a temp folder)")
    args = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere
    crashes = args.crashes or Path(tempfile.mkdtemp(prefix="pgssl-fuzz-"))
    crashes.mkdir(parents=True, exist_ok=True)
    corpus = crashes / "corpus"
    write_seeds(corpus)
    print(f"fuzzing the tile reader for {args.seconds} s, seed {args.seed}; crashes go to {crashes}", flush=True)
    try:
        import atheris  # noqa: F401
    except ImportError:
        fuzz_with_mutations(corpus, crashes, args.seconds, args.seed)
    else:
        fuzz_with_atheris(corpus, crashes, args.seconds, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
