"""The code that drives a whole project, and every step that joins two of the pipeline's stages.

It reads a project's tiles and labels from :mod:`pgssl_core.catalog` and hands them to the stages
(:mod:`pgssl_core.train`, :mod:`pgssl_core.infer`, :mod:`pgssl_core.assess`); the app and the report call it.
The stages do not import one another: where a step needs two of them (a model measured on tiles needs
prediction and pixel counts, the baseline comparison needs training and prediction), it lives here.

- ``data_plan``: which tiles train, pool and validate (:func:`plan_project_data`), then read them.
- ``validation_size``: how much validation a run's figures rest on.
- ``training_job``: a training run on a background thread, under the machine-wide lock.
- ``predict``: every tile's mask, the footprints and the extents of a project (the Map page's layers).
- ``predict_job``: that prediction on a background thread.
- ``assessment``: districts, density grid and PV of a project's footprints, split into a slow and a fast part.
- ``measure_model``: a model's per-tile building counts on labelled tiles (model error, validation IoU).
- ``validation_iou``: a run's validation IoU with its bootstrap interval.
- ``baseline_compare``: "did pretraining help?", a run against a supervised baseline on the same tiles.
- ``predict_inputs``: the ``predict`` command's work (model, rasters -> GeoTIFFs and footprints), alone or under
  torchrun.
- ``sharded_footprints``: the footprints of that prediction joined across raster and band seams.

Submodules are imported on demand (``training_job`` pulls in torch; the Map page does not need it).
"""
