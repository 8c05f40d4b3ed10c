"""pgssl_core: building extraction and rooftop-PV assessment with few labels (PGSSL).

The library never imports Streamlit. Each pipeline stage lives in its own sub-package:

- ``pgssl_core.tiles``: reading and validating rasters (``read_tile``), splitting large rasters.
- ``pgssl_core.catalog``: the project folder (SQLite catalog, stored tiles, versioned label masks).
- ``pgssl_core.demo``: the embedded Beijing demo (district boundaries, synthetic scene generator).
- ``pgssl_core.models``: the segmentation-network factory and model files.
- ``pgssl_core.train``: the PGSSL training engine (teacher, pretraining, transfer, rounds).
- ``pgssl_core.infer`` / ``pgssl_core.assess``: whole-raster inference, footprints, districts and PV.

The command line (``python -m pgssl_core ...``) drives the same functions.
"""

__version__ = "0.1.0"
