"""Model selection on few validation tiles: IoU pooled over all their pixels, and a margin a later
evaluation must beat before it replaces best.pt."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from pgssl_core.models import ModelConfig
from pgssl_core.models.model_file import load_weights_file
from pgssl_core.train.data import TensorSet
from pgssl_core.train.loop import RunContext, RunState, Stage, _validate
from pgssl_core.train.metrics import evaluate_tensors
from pgssl_core.train.progress import Reporter


class Bright(nn.Module):
    """Building where the (normalised) first band is positive: a fixed, known predictor."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([-x[:, :1], x[:, :1]], dim=1) * self.scale


def test_validation_iou_pools_pixels_over_tiles() -> None:
    # Tile A: 300 roof pixels, all found (IoU 1). Tile B: 100 roof pixels, all missed (IoU 0).
    # Pooled: 300 / 400 = 0.75; a mean of the tiles' IoUs would say 0.5.
    img_a = torch.zeros(3, 20, 20, dtype=torch.uint8)
    img_a[:, :15] = 255
    mask_a = torch.zeros(20, 20, dtype=torch.uint8)
    mask_a[:15] = 1
    img_b = torch.zeros(3, 20, 20, dtype=torch.uint8)
    mask_b = torch.zeros(20, 20, dtype=torch.uint8)
    mask_b[:5] = 1
    figures = evaluate_tensors(Bright(), ModelConfig(encoder_depth=0), TensorSet([img_a, img_b], [mask_a, mask_b]),
                               torch.device("cpu"))
    assert figures["iou"] == pytest.approx(0.75)
    assert figures["tiles"] == 2


def _stage(ious: list[float], model: nn.Module) -> Stage:
    scores = iter(ious)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return Stage(name="finetune", round=1, total=len(ious), batch_size=1, modules={"model": model}, optimizer=opt,
                 scheduler=torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0),
                 step_fn=lambda _: (torch.zeros(()), {}), params=list(model.parameters()),
                 validate=lambda: {"iou": next(scores)}, best=(model, ModelConfig()))


@pytest.mark.parametrize(("margin", "selected"), [(0.005, [True, False, True, False]),
                                                  (0.0, [True, True, True, False])])
def test_a_later_evaluation_replaces_best_only_beyond_the_margin(tmp_path: Path, margin: float,
                                                                 selected: list[bool]) -> None:
    ious = [0.50, 0.503, 0.52, 0.52]  # a gain of 0.003 (noise on 5 tiles), a real gain, a tie
    ctx = RunContext(out_dir=tmp_path, device=torch.device("cpu"), reporter=Reporter(None, None, 4), config={},
                     generator=torch.Generator(), state=RunState(), select_margin=margin)
    model = Bright()
    stage = _stage(ious, model)
    for step, _ in enumerate(ious):
        with torch.no_grad():
            model.scale.fill_(step + 1.0)  # each evaluation's network is told apart by its weight
        _validate(ctx, stage, step)
    assert [h["selected"] for h in ctx.state.history] == selected
    assert ctx.state.best_iou == 0.52
    kept = load_weights_file(tmp_path / "best.pt")
    kept_step = max(i for i, s in enumerate(selected) if s)
    assert kept["meta"]["step"] == kept_step and float(kept["state_dict"]["scale"]) == kept_step + 1.0
