"""Run by torchrun from test_distributed.py: a few pretraining steps (BYOL + inpainting) on every rank,
then the digests of each rank's target network (parameters and BatchNorm buffers) and online network,
written by rank 0 as JSON to ``argv[1]``."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from pgssl_core import distributed
from pgssl_core.train.data import TensorSet
from pgssl_core.train.loop import RunContext, RunState
from pgssl_core.train.pretrain_model import PretrainModel
from pgssl_core.train.pretraining import pretrain
from pgssl_core.train.profiles import get_profile
from pgssl_core.train.progress import Reporter
from pgssl_core.train.rounds import model_config
from tests.train.conftest import synth_data


def digest(modules: list[torch.nn.Module]) -> str:
    h = hashlib.sha256()
    for module in modules:
        for name, tensor in module.state_dict().items():
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def main(out: Path) -> None:
    with distributed.process_group(torch.device("cpu")) as dist:
        data = synth_data(n_lab=2, n_unl=6, n_val=0, size=32)
        profile = get_profile("test", batch_size=4)
        ctx = RunContext(out_dir=out.parent, device=torch.device("cpu"), reporter=Reporter(None, None, 0), config={},
                         generator=torch.Generator().manual_seed(0), state=RunState(), checkpoint_every=1000,
                         dist=dist)
        torch.manual_seed(dist.rank)  # different starting weights per rank: DDP must make them one
        pmodel = PretrainModel(model_config(profile, data.bands), profile.tasks)
        pretrain(ctx, 1, pmodel, TensorSet.from_samples(data.pool()), None, profile,
                 {"seg": 0.0, "byol": 1.0, "inpaint": 1.0}, 3)
        byol = pmodel.heads["byol"]
        target = distributed.all_gather_objects(digest([byol.target_encoder, byol.target_projector]))
        online = distributed.all_gather_objects(digest([pmodel.encoder, byol.projector, byol.predictor]))
        if dist.is_main:
            out.write_text(json.dumps({"world_size": dist.world_size, "target": target, "online": online}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
