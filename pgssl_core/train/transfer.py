"""Transfer and fine-tune: the pretrained encoder (and optionally the pseudo-label decoder) moves into a
fresh U-Net, which is then trained on the labelled tiles; it becomes the next round's teacher."""

from __future__ import annotations

from torch import nn

from pgssl_core.io import atomic_write_bytes
from pgssl_core.models import ModelConfig, create_model
from pgssl_core.train.plan import StageKind
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.run import Run
from pgssl_core.train.segmenter import train_segmenter


def transfer(pmodel: PretrainModel, config: ModelConfig, decoder: bool = False) -> nn.Module:
    """A fresh U-Net (``create_model``) whose encoder is the pretrained online encoder; with ``decoder``
    its decoder and head are those of the pseudo-label segmentation task as well."""
    model = create_model(config)
    parts = [(model.get_submodule("encoder"), pmodel.encoder)]
    if decoder:
        seg = pmodel.heads["seg"]
        parts += [(model.get_submodule("decoder"), seg.get_submodule("decoder")),
                  (model.get_submodule("segmentation_head"), seg.get_submodule("head"))]
    for dst, src in parts:
        dst.load_state_dict({k: v.detach().cpu() for k, v in src.state_dict().items()})
    return model


def finetune(run: Run, rnd: int, steps: int) -> None:
    """Stage ``finetune``: transfer ``run.pmodel`` into a U-Net and train it on the labelled tiles (the
    encoder frozen for the profile's first steps); leaves it in ``run.model``.

    After the stage, ``stages/r<round>-best.pt`` is a copy of ``best.pt`` as it stood then (the best on
    val up to this round, for the rounds ablation).
    """
    if run.pmodel is None:
        raise RuntimeError("finetune needs a pretrained network: the plan runs pretraining first")
    stages = run.profile.stages
    model = transfer(run.pmodel, run.model_config, decoder=stages.transfer_decoder)
    if not run.finished(rnd, StageKind.FINETUNE, model, steps):
        model = train_segmenter(run.ctx, StageKind.FINETUNE.value, rnd, model, run.model_config, run.labelled,
                                run.val, run.profile, steps, frozen_warmup=stages.frozen_warmup_steps,
                                validate_at_start=True, lr=stages.finetune_lr)
        best = run.ctx.out_dir / "best.pt"
        if run.ctx.dist.is_main and best.is_file():
            # Written before the stage file so that a finished stage always has it.
            atomic_write_bytes(run.stage_file(rnd, "best"), best.read_bytes())
        run.save_stage(rnd, StageKind.FINETUNE, model)
    run.model = model.to(run.ctx.device).eval()
