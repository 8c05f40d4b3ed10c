"""The embedded Beijing demo: district boundaries, the OpenAerialMap sample and a SYNTHETIC scene.

- ``districts``: the 16 Beijing districts (WGS84) shipped in ``assets/beijing_districts.geojson``.
- ``scene``: deterministic generator of SYNTHETIC georeferenced aerial tiles with exact masks
  (sites, densities); ``scene_render`` paints one tile; ``scene_io`` writes tiles as GeoTIFFs.
- ``oam_sample``: deterministic choice of the real OpenAerialMap sample tiles.
- ``projects``: creates the two demo projects in the catalog.

Submodules are imported on demand so that importing the package stays cheap.
"""
