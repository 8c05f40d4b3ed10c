"""The band encoding of a prediction GeoTIFF, shared by its writer and its readers.

One uint8 band: a probability p is stored as ``round(p x PROB_SCALE)`` (0..254) so that 255 stays free for
``NODATA`` (pixels outside the imagery); a mask holds 0/1 with the same nodata. The kind (one of
``OUTPUTS``) is written in the GeoTIFF tag ``OUTPUT_TAG``. :mod:`pgssl_core.infer.geotiff_out` writes
this format; :mod:`pgssl_core.assess.footprints` and the working-grid warp of :mod:`pgssl_core.infer` read
it. It lives here, beside the other raster formats, so that reading a prediction does not import the
inference package (and torch).
"""

from __future__ import annotations

#: Band value of pixels without imagery, in both kinds of output.
NODATA: int = 255
#: A probability p is stored as round(p x PROB_SCALE): 254 keeps 255 free for NODATA.
PROB_SCALE: int = 254
#: The kinds of prediction output: building probability or a thresholded 0/1 mask.
OUTPUTS = ("probability", "mask")
#: GeoTIFF tag holding the kind of a prediction output (one of OUTPUTS).
OUTPUT_TAG = "pgssl_output"
