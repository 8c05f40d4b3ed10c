"""Small I/O helpers that keep user work safe on disk."""

from pgssl_core.io.atomic import StorageError, atomic_write, atomic_write_bytes, atomic_write_json, atomic_write_with

__all__ = ["StorageError", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_with"]
