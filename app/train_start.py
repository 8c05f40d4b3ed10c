"""Train page widgets for where a run starts (base model, scratch, a model file), the project's
working ground resolution (GSD), and the command that runs the same training distributed."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import training
from pgssl_core.catalog import Project
from pgssl_core.catalog.gsd_settings import GsdSettings, project_gsd, set_project_gsd
from pgssl_core.errors import PgsslError
from pgssl_core.models.init_model import base_model_available
from pgssl_core.tiles.gsd import MAX_SUGGESTED_UPSAMPLING
from pgssl_core.train import TrainConfig
from pgssl_core.train.launch import project_train_command

_OTHER_FILE = "file"


def init_picker(project: Project) -> str:
    """"Start from": the base model (default), scratch, a finished run's model or a model file path.
    Returns the ``init`` value of the run (``base``, ``scratch`` or a path)."""
    options: dict[str, str] = {}
    if base_model_available():
        options["base"] = "the base building model (recommended: trained on real aerial tiles)"
    options["scratch"] = "scratch (random weights: needs many more labels and steps)"
    for run in training.train_runs(project):
        model = training.model_file(run)
        if model is not None:
            options[str(model)] = f"the model of run {run['id']}"
    options[_OTHER_FILE] = "a model file on this machine…"
    picked = st.selectbox("Start from", list(options), format_func=options.__getitem__, key="train_init",
                          help="The teacher and the pretraining encoder start from these weights. A model whose "
                               "band count differs from your tiles falls back to scratch, with a message.")
    if picked != _OTHER_FILE:
        return picked
    path = st.text_input("Model file path", key="train_init_path", placeholder="/path/to/model.pt").strip()
    if path and not Path(path).is_file():
        st.error(f"No file at {path}")
    return path or "scratch"


def gsd_settings(project: Project) -> None:
    """The project's working GSD and the GSD of tiles without a georeference (stored in the project)."""
    current = project_gsd(project)
    plain = sum(1 for r in project.tiles() if not r.georeferenced)
    if plain and current.working_gsd_m is not None and current.tile_gsd_m is None:
        st.warning(f"{plain} tile(s) have no georeference and no GSD is stated: they are used at their native "
                   "resolution, not at the working GSD. State their GSD under \"Ground resolution\".",
                   icon=":material/straighten:")
    shown = "native" if current.working_gsd_m is None else f"{current.working_gsd_m:g} m"
    with st.expander(f"Ground resolution: working GSD {shown}"
                     f"{' (suggested for your imagery)' if current.suggested else ''}"):
        st.caption("Every tile is resampled to the working GSD for training and prediction; masks come back on "
                   "each tile's own grid. 0.3 m is the base model's. Until you save one, the working GSD follows "
                   f"your imagery: imagery more than {MAX_SUGGESTED_UPSAMPLING:g}x coarser than 0.3 m is read at "
                   f"its GSD / {MAX_SUGGESTED_UPSAMPLING:g} (1 m satellite imagery at 0.7 m), because blowing it "
                   "up further blurs roofs and misses more of them. Tiles without a georeference use the GSD "
                   "stated below; without one they stay at native resolution.")
        native = st.checkbox("Keep native resolution (no resampling)", value=current.working_gsd_m is None,
                             key="gsd_native")
        working = None if native else st.number_input(
            "Working GSD (m per pixel)", min_value=0.05, max_value=5.0, step=0.05,
            value=current.working_gsd_m or 0.3, key="gsd_working")
        stated = st.number_input("GSD of tiles without a georeference (m per pixel, 0 = not stated)",
                                 min_value=0.0, max_value=5.0, step=0.05, value=current.tile_gsd_m or 0.0,
                                 key="gsd_stated")
        wanted = GsdSettings(working, stated or None)
        if wanted != current and st.button("Save ground resolution", key="gsd_save"):
            try:
                set_project_gsd(project, wanted)
            except PgsslError as exc:
                st.error(str(exc))
                return
            st.toast("Ground resolution saved: the next run and prediction use it.")
            st.rerun()


def distributed_command(project: Project, config: TrainConfig) -> None:
    """The command line that runs the training chosen above (``config``) on several GPUs or machines
    (torchrun), ready to copy. The app itself trains in one process."""
    with st.expander("Run it distributed (several GPUs or machines)"):
        c1, c2 = st.columns(2)
        nproc = c1.number_input("Processes per machine (one per GPU)", min_value=1, max_value=64, value=2,
                                key="ddp_nproc")
        nnodes = c2.number_input("Machines", min_value=1, max_value=64, value=1, key="ddp_nnodes")
        st.code(project_train_command(project.root, config, int(nproc), int(nnodes),
                                      training.DATA_LIMITS.get(config.profile)), language="bash")
        st.caption("Run it on each machine (several machines: replace MAIN_HOST by the first one's address and "
                   "keep the project on a shared file system). It reads the project's tiles and labels as a run "
                   "started here does; the run folder is shown in --out.")
