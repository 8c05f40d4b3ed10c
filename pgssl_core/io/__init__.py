"""Small I/O helpers that keep user work safe on disk, and strict JSON (``json_safe``)."""

from pgssl_core.io.atomic import StorageError, atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_with
from pgssl_core.io.json_safe import json_safe

__all__ = ["StorageError", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_with", "json_safe"]
