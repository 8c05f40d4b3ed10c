"""Imagery from a tile service the user names (``{z}/{x}/{y}`` URL template) into a project.

- ``grid``: which XYZ tiles cover a bounding box or a district, at a zoom.
- ``fetch``: polite HTTP downloads (rate limit, retries with backoff, timeout), checked tiles, a disk cache.
- ``importer``: the whole import, all or nothing, with the service's attribution kept in the project.
"""
