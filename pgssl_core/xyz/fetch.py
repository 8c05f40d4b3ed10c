"""Polite downloads from a tile service the user names, checked tile by tile, with a disk cache.

HTTP goes through ``requests`` with urllib3's ``Retry`` (exponential backoff, the server's ``Retry-After``
honoured up to a cap, retries on 429/500/502/503/504, timeouts and dropped connections) rather than a
retry loop of our own. On top: a minimum interval between requests (the rate limit), a per-request
timeout, and checks that what came back is an image a tile service sends (an HTML error page served with
status 200, or bytes that do not decode, are refused with a one-line reason). Only checked tiles enter the
cache, each written atomically, so an interrupted download never leaves a partial tile behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import requests
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

import pgssl_core
from pgssl_core.errors import PgsslError
from pgssl_core.io import atomic_write_bytes
from pgssl_core.xyz.grid import TileAddress

#: Tile formats accepted from a service, and the file suffix each is cached under.
FORMATS: dict[str, str] = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}
#: Largest tile side accepted (px): services send 256 or 512 px tiles (1,024 px at most for "@4x" ones).
MAX_TILE_SIDE: int = 1024
#: Largest response accepted (bytes); a 512 px PNG tile is well under 1 MB.
MAX_TILE_BYTES: int = 8 * 1024 * 1024
#: Statuses worth a retry: rate limited (429) and the server's temporary failures.
RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)


class TileFetchError(PgsslError):
    """A tile could not be fetched or is not an image; the message names the tile and the reason."""


@dataclass(frozen=True)
class FetchSettings:
    """How politely to ask: at most ``rate_per_s`` requests per second (one connection), ``timeout_s`` to
    connect and between bytes, ``retries`` further tries with exponential backoff from ``backoff_s``, and a
    ``Retry-After`` wait of at most ``retry_after_max_s``."""

    rate_per_s: float = 2.0
    timeout_s: float = 20.0
    retries: int = 4
    backoff_s: float = 1.0
    retry_after_max_s: int = 60
    user_agent: str = f"pgssl/{pgssl_core.__version__} (building mapping; tile import)"

    def __post_init__(self) -> None:
        if not self.rate_per_s > 0 or not self.timeout_s > 0 or self.retries < 0 or self.backoff_s < 0:
            raise PgsslError("rate and timeout must be > 0, retries and backoff >= 0")


def check_template(template: str) -> str:
    """The URL template with ``{z}``, ``{x}`` and ``{y}`` over http(s); PgsslError otherwise."""
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PgsslError(f"the tile URL must start with http:// or https://, got {template!r}")
    missing = [f"{{{k}}}" for k in "zxy" if f"{{{k}}}" not in template]
    if missing:
        raise PgsslError(f"the tile URL template needs {', '.join(missing)} (e.g. https://host/{{z}}/{{x}}/{{y}}.png)")
    extra = set(re.findall(r"\{([^}]*)\}", template)) - {"z", "x", "y"}
    if extra:
        raise PgsslError(f"the tile URL template may only hold {{z}}, {{x}} and {{y}}, not {sorted(extra)}")
    return template


def public_service_name(template: str) -> str:
    """The template without its query string and user info (where API keys usually sit): what is stored."""
    parts = urlsplit(template)
    if parts.hostname is None:  # e.g. "https://user@/{z}/{x}/{y}.png": a netloc without a host
        raise PgsslError(f"the tile URL has no host name: {template!r}")
    return urlunsplit((parts.scheme, parts.hostname + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))


def default_cache_dir() -> Path:
    """``$PGSSL_CACHE_DIR/xyz``, else ``$XDG_CACHE_HOME/pgssl/xyz`` (``~/.cache/pgssl/xyz``)."""
    if os.environ.get("PGSSL_CACHE_DIR"):
        return Path(os.environ["PGSSL_CACHE_DIR"]) / "xyz"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pgssl" / "xyz"


def _html_title(body: bytes) -> str:
    match = re.search(rb"<title[^>]*>(.*?)</title>", body[:4096], re.IGNORECASE | re.DOTALL)
    text = (match.group(1) if match else body[:80]).decode("utf-8", "replace")
    return " ".join(text.split())[:80]


def check_tile_bytes(body: bytes, content_type: str) -> str:
    """The format of a tile response body (a key of ``FORMATS``); TileFetchError with the reason otherwise."""
    head = body[:512].lstrip().lower()
    if "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
        raise TileFetchError(f"the service sent a web page instead of an image ({content_type or 'no type'}: "
                             f"{_html_title(body)!r})")
    if len(body) > MAX_TILE_BYTES:
        raise TileFetchError(f"the response has {len(body):,} bytes, more than a tile ({MAX_TILE_BYTES:,})")
    try:
        with Image.open(io.BytesIO(body)) as image:
            fmt, size = image.format, image.size
            if fmt in FORMATS and max(size) <= MAX_TILE_SIDE:
                image.load()  # decodes every byte: a truncated or corrupt tile fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise TileFetchError(f"the response is not a readable image ({len(body)} bytes, "
                             f"{content_type or 'no content type'}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    if fmt not in FORMATS:
        raise TileFetchError(f"the response is a {fmt} image; tiles must be PNG, JPEG or WebP")
    if max(size) > MAX_TILE_SIDE:
        raise TileFetchError(f"the image is {size[0]} x {size[1]} px, larger than a tile ({MAX_TILE_SIDE} px)")
    return fmt


class _GaveUp(MaxRetryError):
    """urllib3's "retries exhausted" with the number of requests that were made (``attempts``)."""

    def __init__(self, exhausted: MaxRetryError, attempts: int) -> None:
        super().__init__(exhausted.pool, exhausted.url, exhausted.reason)
        self.attempts = attempts


class _CountingRetry(Retry):
    """urllib3's ``Retry`` that says, when it gives up, how many requests it made: its ``history`` holds one
    entry per failed request before the current one, so the failure that exhausts it is request
    ``len(history) + 1`` (the figure the error message reports; urllib3's own error does not carry it)."""

    def increment(self, *args, **kwargs) -> Self:  # noqa: ANN002, ANN003 - urllib3's signature, passed on
        try:
            return super().increment(*args, **kwargs)
        except MaxRetryError as exc:
            raise _GaveUp(exc, len(self.history) + 1) from exc.reason


def _tries(count: int) -> str:
    return "1 try" if count == 1 else f"{count} tries"


#: What an HTTP status other than 200 means for a tile, in the error message.
_STATUS_MEANINGS: dict[int, str] = {404: "the service has no tile at this address", 410: "the tile is gone",
                                    401: "the service asks for a key or login", 403: "the service refused access",
                                    429: "rate limited by the service"}


def _status_meaning(status: int) -> str:
    if status in _STATUS_MEANINGS:
        return _STATUS_MEANINGS[status]
    return "the service failed" if status >= 500 else "the service refused the request"


class TileFetcher:
    """Downloads tiles of one service into ``cache_dir/<hash of the template>/<z>/<x>/<y>.<ext>``.

    ``fetch`` returns the cached file (downloading it first when needed) or raises ``TileFetchError``.
    ``downloaded``/``from_cache`` count what happened. Thread-safe: requests are serialised by the rate limit.
    """

    def __init__(self, template: str, cache_dir: Path | None = None, settings: FetchSettings | None = None) -> None:
        self.template = check_template(template)
        self.settings = settings or FetchSettings()
        key = hashlib.sha256(template.encode()).hexdigest()[:16]
        self.cache_dir = Path(cache_dir or default_cache_dir()) / key
        s = self.settings
        retry = _CountingRetry(total=s.retries, connect=s.retries, read=s.retries, status=s.retries, other=0,
                      backoff_factor=s.backoff_s, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}),
                      respect_retry_after_header=True, retry_after_max=s.retry_after_max_s, raise_on_status=False)
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=1))
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=1))
        self.session.headers["User-Agent"] = s.user_agent
        self._lock = threading.Lock()
        self._next_request = 0.0
        self.downloaded = self.from_cache = 0

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> TileFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cached(self, tile: TileAddress) -> Path | None:
        """The cached file of ``tile``, or None."""
        z, x, y = tile
        folder = self.cache_dir / str(z) / str(x)
        for suffix in FORMATS.values():
            if (folder / f"{y}{suffix}").is_file():
                return folder / f"{y}{suffix}"
        return None

    def _wait_turn(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next_request - now
            self._next_request = max(now, self._next_request) + 1.0 / self.settings.rate_per_s
        if wait > 0:
            time.sleep(wait)

    def fetch(self, tile: TileAddress) -> Path:
        """The checked image file of ``tile`` (from the cache, or downloaded and cached)."""
        hit = self.cached(tile)
        if hit is not None:
            self.from_cache += 1
            return hit
        z, x, y = tile
        url = self.template.format(z=z, x=x, y=y)
        name = f"tile {z}/{x}/{y}"
        self._wait_turn()
        try:
            response = self.session.get(url, timeout=self.settings.timeout_s)
        except requests.exceptions.RequestException as exc:
            raise TileFetchError(f"{name}: {self._failure(exc)}") from None
        with response:
            body = response.content
            if response.status_code != 200:
                retried = getattr(response.raw, "retries", None)  # urllib3's Retry as it stood for this response
                tries = _tries(len(retried.history) + 1 if retried is not None else 1)
                raise TileFetchError(f"{name}: HTTP {response.status_code} {response.reason or ''} "
                                     f"({_status_meaning(response.status_code)}; {tries})".replace("  ", " "))
            try:
                fmt = check_tile_bytes(body, response.headers.get("Content-Type", ""))
            except TileFetchError as exc:
                raise TileFetchError(f"{name}: {exc}") from None
        path = self.cache_dir / str(z) / str(x) / f"{y}{FORMATS[fmt]}"
        atomic_write_bytes(path, body)
        self.downloaded += 1
        return path


    def _failure(self, exc: requests.exceptions.RequestException) -> str:
        """What went wrong when no response came, in words: a refused connection, an unknown host, a timeout
        or another network error, with the number of requests made when urllib3 gave up after retries."""
        chain = _chain(exc)
        gave_up = next((e for e in chain if isinstance(e, _GaveUp)), None)
        tries = f" ({_tries(gave_up.attempts)})" if gave_up is not None else ""
        if any(isinstance(e, NameResolutionError) for e in chain):
            return f"cannot find the service's host name{tries}"
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return f"the service refused the connection{tries}"
        if any(isinstance(e, NewConnectionError) for e in chain):  # urllib3 makes it a timeout subclass: test first
            return f"cannot connect to the service{tries} ({' '.join(str(chain[-1]).split())[:160]})"
        if any(isinstance(e, (requests.exceptions.Timeout, TimeoutError, Urllib3Timeout)) for e in chain):
            return f"the service did not answer within {self.settings.timeout_s:g} s{tries}"
        return f"cannot reach the service{tries} ({' '.join(str(chain[-1]).split())[:160]})"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the errors inside it, outermost first: requests wraps urllib3's ``MaxRetryError`` (as its
    first argument), which holds the last failure as ``reason``, which was raised from the socket's error."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            first = current.args[0] if current.args else None
            inner = first if isinstance(first, BaseException) else current.__cause__ or current.__context__
        current = inner
    return chain
