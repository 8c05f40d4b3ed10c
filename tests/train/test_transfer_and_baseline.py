"""The transfer of pretrained parts into a fresh U-Net and the supervised baseline's step budget."""

from __future__ import annotations

import torch

from pgssl_core.train.plan import plan, supervised_steps
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.pretraining_tasks import TaskSettings
from pgssl_core.train.profiles import get_profile
from pgssl_core.train.rounds import model_config
from pgssl_core.train.segmenter import transfer


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_transfer_copies_encoder_and_optionally_the_pseudo_label_decoder() -> None:
    cfg = model_config(get_profile("test"), 3)
    torch.manual_seed(0)
    pmodel = PretrainModel(cfg, TaskSettings(proj_dim=8, proj_hidden=16))
    seg = pmodel.heads["seg"]
    encoder_only = transfer(pmodel, cfg)
    assert _same(encoder_only.encoder, pmodel.encoder)
    assert not _same(encoder_only.decoder, seg.decoder)  # a fresh random decoder

    whole = transfer(pmodel, cfg, decoder=True)
    assert _same(whole.encoder, pmodel.encoder)
    assert _same(whole.decoder, seg.decoder) and _same(whole.segmentation_head, seg.head)
    x = torch.rand(1, 3, 32, 32)
    pmodel.eval()
    whole.eval()
    with torch.no_grad():  # the transferred U-Net computes what the pseudo-label task computed
        assert torch.allclose(whole(x), seg(pmodel.features(x)), atol=1e-5)


def test_supervised_baseline_gets_the_labelled_steps_of_a_pgssl_run() -> None:
    profile = get_profile("test", teacher_steps=7, finetune_steps=5, rounds=2)
    pgssl_labelled = sum(s for _, name, s in plan("pgssl", profile) if name in ("teacher", "finetune"))
    assert supervised_steps(profile) == pgssl_labelled == 17
    assert plan("supervised", profile) == [(1, "supervised", 17)]
    assert plan("supervised", get_profile("test", supervised_steps=3)) == [(1, "supervised", 3)]


def test_finetune_has_its_own_learning_rate(tmp_path, tiny_data, make_config) -> None:
    from pgssl_core.train import run_training

    events: list[dict] = []
    run_training(tiny_data, make_config("pgssl", lr=1e-3, finetune_lr=1e-5, warmup_steps=0), tmp_path / "run",
                 progress=events.append)
    peak = {}
    for e in events:
        if e["kind"] == "step":
            peak[e["stage"]] = max(peak.get(e["stage"], 0.0), e["lr"])
    assert 0 < peak["finetune"] <= 1e-5 < peak["teacher"] <= 1e-3


def test_run_model_path_prefers_best_and_waits_for_the_finished_run(tmp_path) -> None:
    from pgssl_core.train import run_model_path

    assert run_model_path(tmp_path) is None
    (tmp_path / "best.pt").write_bytes(b"x")
    assert run_model_path(tmp_path) is None  # best.pt alone: the run is still training
    (tmp_path / "model.pt").write_bytes(b"x")
    assert run_model_path(tmp_path) == tmp_path / "best.pt"
    (tmp_path / "best.pt").unlink()
    assert run_model_path(tmp_path) == tmp_path / "model.pt"  # a run without val tiles
