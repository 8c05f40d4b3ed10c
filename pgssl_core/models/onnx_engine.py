"""CPU inference on ONNX Runtime: the network of a model file exported once, cached, and run instead of PyTorch.

On a 2-core CPU ONNX Runtime's CPU execution provider ran the shipped base model 3x faster than PyTorch
eager (1.1 vs 0.35 Mpx/s at 1,024 px, 2 threads, logits equal to 4e-6; docs in ``/work/shared/DESIGN.md``,
figures in ``benchmarks/results/inference_engines.json``). Every prediction goes through :func:`run_network`,
the one place where the engine is chosen:

- ONNX Runtime for a network that :func:`~pgssl_core.models.model_file.load_model` read from a file, on the
  CPU, in eval mode, without gradients; PyTorch everywhere else (a GPU, training, a network built in memory).
- The graph is exported once per model file and cached (:func:`graph_path`): beside the file as
  ``<name>.onnx``, or under ``$XDG_CACHE_HOME/pgssl/onnx/<sha256>.onnx`` for files inside the installed
  package or in a folder we cannot write. It records the SHA-256 of the model file it came from: a cached
  graph of another version of the file is stale and rebuilt. Every graph, fresh or cached, is checked
  against PyTorch on a small input before it is used, so a damaged cached file is rebuilt, not trusted.
- A network changed in memory after loading (e.g. BatchNorm statistics adapted to new imagery) no longer
  matches its file: it is exported again, in memory only, so the cache never holds weights no file has.
- Where ONNX Runtime is missing or refuses a network (export, session or check failure), ``auto`` falls
  back to PyTorch with one :class:`EngineFallbackWarning`; ``onnx`` (asked for by name) raises instead.

The engine comes from ``load_model(engine=...)`` (the CLI's ``--engine``), else the environment variable
:data:`ENGINE_ENV`, else ``auto``.
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pgssl_core.errors import PgsslError, first_line
from pgssl_core.io import atomic_write_bytes
from pgssl_core.shipped import ASSETS_DIR

#: Engines a user can choose: ``auto`` (ONNX Runtime on the CPU where it works, else PyTorch), ``onnx``
#: (ONNX Runtime on the CPU, an error where it cannot), ``torch`` (PyTorch always).
ENGINES: tuple[str, ...] = ("auto", "onnx", "torch")
#: Environment variable that sets the engine when the caller does not (e.g. ``PGSSL_ENGINE=torch``).
ENGINE_ENV: str = "PGSSL_ENGINE"
#: ONNX operator set of the exported graphs: 17 is supported by torch's TorchScript exporter (up to 20) and by
#: every ONNX Runtime since 1.14, older than the ``onnxruntime>=1.20`` of requirements.txt.
OPSET: int = 17
#: Metadata keys written into each graph: the model file's SHA-256 and the export recipe's version (raise
#: it when the export changes, so that graphs of the old recipe are rebuilt).
SHA_KEY, RECIPE_KEY, RECIPE = "pgssl_model_sha256", "pgssl_export_recipe", "1"
#: Largest logit difference (ONNX Runtime vs PyTorch) accepted by the check of a graph. Measured: 4e-6 on the
#: base model; 1e-3 in logits moves a probability by at most 2.5e-4 (the softmax's slope is <= 1/4), far
#: inside one step of the 8-bit output (1/254).
CHECK_TOLERANCE: float = 1e-3

#: In-memory exports of one loaded network whose weights changed (e.g. BatchNorm adaptation) before it is
#: taken for a network in training and left to PyTorch: an export costs about a second (1.4 s for the base
#: model on this CPU), a training validation every few hundred steps must not pay it each time.
MAX_IN_MEMORY_EXPORTS: int = 2


class EngineFallbackWarning(UserWarning):
    """ONNX Runtime could not run a network (missing, or it refused the model): PyTorch predicts instead."""


def resolve_engine(name: str | None = None) -> str:
    """The engine to use: ``name``, else :data:`ENGINE_ENV`, else ``auto``.

    Raises:
        PgsslError: not one of :data:`ENGINES`.
    """
    chosen = (name or os.environ.get(ENGINE_ENV) or "auto").strip().lower()
    if chosen not in ENGINES:
        where = f"{ENGINE_ENV}={chosen}" if not name else f"engine {chosen!r}"
        raise PgsslError(f"unknown {where}; choose one of {', '.join(ENGINES)}")
    return chosen


def cache_dir() -> Path:
    """Where graphs of read-only or shipped model files go: ``$XDG_CACHE_HOME/pgssl/onnx`` (default
    ``~/.cache``, the XDG base-directory convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pgssl" / "onnx"


def graph_path(model_path: Path, sha256: str) -> Path:
    """Cache file of the graph of ``model_path`` (whose bytes hash to ``sha256``): ``<name>.onnx`` beside it,
    or :func:`cache_dir`/``<sha256>.onnx`` for a file of the installed package (its assets stay as shipped)
    or in a folder this process cannot write."""
    model_path = model_path.resolve()
    shipped = model_path.is_relative_to(ASSETS_DIR.resolve())
    if not shipped and os.access(model_path.parent, os.W_OK):
        return model_path.with_name(model_path.name + ".onnx")
    return cache_dir() / f"{sha256}.onnx"


def fingerprint(model: nn.Module) -> tuple[tuple[int, int], ...]:
    """Identity and in-place version counter of every parameter and buffer: changes when any of them is
    replaced or written (an optimizer step, ``load_state_dict``, BatchNorm statistics updated in train mode),
    without reading the weights."""
    return tuple((id(t), t._version) for t in (*model.parameters(), *model.buffers()))


def export_graph(model: nn.Module, in_channels: int, multiple: int, sha256: str) -> bytes:
    """The ONNX graph (bytes) of ``model`` in eval mode, input ``image`` float32 (N, in_channels, H, W) with
    dynamic N, H, W (multiples of ``multiple``), output ``logits`` (N, classes, H, W); ``sha256`` is recorded.

    Uses torch's TorchScript exporter (``dynamo=False``): it needs the ``onnx`` package only, where the dynamo
    exporter also needs onnxscript. Raises whatever the exporter raises (callers treat it as a refusal).
    """
    import onnx

    dims = {0: "batch", 2: "height", 3: "width"}
    example = torch.zeros(1, in_channels, 2 * multiple, 2 * multiple)
    buffer = io.BytesIO()
    was_training = model.training
    model.eval()
    try:
        # Tracing needs ordinary tensors: callers predict under inference mode, which the export leaves.
        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            # The exporter's own notes (legacy exporter, traced Python values) are for its developers.
            warnings.simplefilter("ignore")
            # A file object works (the exporter writes through torch.serialization._open_file_like) though
            # its annotation names paths only; memory, so that only a checked graph is ever written to disk.
            torch.onnx.export(model, (example,), buffer,  # type: ignore[arg-type]
                              dynamo=False, input_names=["image"], output_names=["logits"],
                              dynamic_axes={"image": dims, "logits": dims}, opset_version=OPSET)
    finally:
        model.train(was_training)
    proto = onnx.load_model_from_string(buffer.getvalue())
    onnx.helper.set_model_props(proto, {SHA_KEY: sha256, RECIPE_KEY: RECIPE})
    return proto.SerializeToString()


def session_options(threads: int) -> Any:
    """ONNX Runtime session options for one prediction process.

    - ``intra_op_num_threads = threads`` (the user's thread count, ``torch.get_num_threads()``): ONNX Runtime's
      default 0 takes every physical core, ignoring the user's choice, and would oversubscribe a shared machine
      or several torchrun ranks on one.
    - sequential execution, ``inter_op_num_threads = 1``: a U-Net is one chain of operators; the parallel
      mode adds a second pool whose threads only compete with the intra-op ones.
    - ``session.intra_op.allow_spinning = 0``: by default idle intra-op threads spin-wait for the next
      operator (lower latency per operator, a busy core meanwhile). Prediction reads the next windows and
      writes finished rows in other threads at the same time (``infer/stitch.py``), and the machine may be
      shared: those need the cores more than a forward pass of ~1 s needs microseconds per operator.
    - the CPU memory arena stays on (the default): it keeps freed blocks for the next run instead of returning
      them to the OS; turning it off would allocate every activation anew on each run.
    - memory patterns off (``enable_mem_pattern = False``): a pattern is planned per input shape and each
      reserves a block of its own in the arena. Prediction alternates two shapes (4 windows, then the smaller
      last batch of a strip), and measured on the base model (2 threads, batches 4, 1, 4, 1, 4, 2, 4 of 512 px)
      the process's peak grew from 439 to 771 MB with patterns and stayed at 451 MB without, with no slower
      runs (batches 4, 4, 1: 12.3 s median without, 13.9 s with, same process, loaded machine).
    - log severity 3 (errors only): its warnings (e.g. unused initializers) mean nothing to a user.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


class OnnxNetwork:
    """An ONNX Runtime session of one graph: ``__call__(x (N, C, H, W) float32 tensor) -> logits tensor``."""

    def __init__(self, graph: bytes | Path, threads: int) -> None:
        import onnxruntime as ort

        source = str(graph) if isinstance(graph, Path) else graph
        self.session = ort.InferenceSession(source, sess_options=session_options(threads),
                                            providers=["CPUExecutionProvider"])
        self.threads = threads
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits float32 (N, classes, H, W) on the CPU for a normalised batch ``x`` (N, C, H, W)."""
        array = np.ascontiguousarray(x.detach().to("cpu", torch.float32).numpy())
        return torch.from_numpy(self.session.run(["logits"], {"image": array})[0])


def check_graph(network: OnnxNetwork, model: nn.Module, in_channels: int, multiple: int) -> None:
    """Raise ``ValueError`` unless ``network`` gives ``model``'s logits (within :data:`CHECK_TOLERANCE`) on a
    random batch whose shape differs from the export's (two windows, non-square), so that a damaged graph or
    one with a size baked in is refused."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, in_channels, 3 * multiple, 2 * multiple, generator=generator)
    with torch.inference_mode():
        expected = model(x).float()
    got = network(x)
    if got.shape != expected.shape:
        raise ValueError(f"the graph gives logits of shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}")
    diff = float((got - expected).abs().max())
    if not diff <= CHECK_TOLERANCE:
        raise ValueError(f"the graph's logits differ from PyTorch's by {diff:.3g}")


@dataclass
class ModelSource:
    """What :func:`run_network` knows of a network loaded from a file: the file, its SHA-256 at loading, the
    engine asked for, the network's config facts the export needs, its :func:`fingerprint` as loaded, and the
    ONNX session built so far (with the fingerprint it was built for), or why ONNX Runtime was refused."""

    path: Path
    sha256: str
    engine: str
    in_channels: int
    multiple: int
    loaded: tuple[tuple[int, int], ...]
    network: OnnxNetwork | None = None
    built_for: tuple[tuple[int, int], ...] | None = None
    refused: str | None = None
    changes: int = 0  # in-memory exports so far (weights changed after loading)


#: Networks read by ``load_model`` -> their :class:`ModelSource`. Weak keys: an entry goes with its network,
#: so this holds no model alive; it is a cache of sessions, not state a caller sees.
_SOURCES: weakref.WeakKeyDictionary[nn.Module, ModelSource] = weakref.WeakKeyDictionary()


def remember_source(model: nn.Module, path: Path, sha256: str, engine: str, in_channels: int,
                    multiple: int) -> None:
    """Record that ``model`` (on its final device, in eval mode) holds the weights of ``path`` (SHA-256
    ``sha256``), to be run with ``engine`` (one of :data:`ENGINES`)."""
    _SOURCES[model] = ModelSource(path, sha256, engine, in_channels, multiple, fingerprint(model))


def inherit_source(copy: nn.Module, original: nn.Module) -> None:
    """Let ``copy`` (e.g. a network with adapted BatchNorm statistics made from ``original``) run with
    ``original``'s engine: its own graph, exported in memory (its weights are no file's). Nothing happens when
    ``original`` was not read from a model file."""
    source = _SOURCES.get(original)
    if source is not None:
        _SOURCES[copy] = ModelSource(source.path, source.sha256, source.engine, source.in_channels,
                                     source.multiple, loaded=())


def forget_source(model: nn.Module) -> None:
    """Run ``model`` with PyTorch from now on (e.g. a loaded model that becomes a starting point for training)."""
    _SOURCES.pop(model, None)


def _cached_network(source: ModelSource, model: nn.Module, threads: int) -> OnnxNetwork:
    """The checked session of ``source``'s file graph: the cached graph when it is of this file and passes
    :func:`check_graph`, else a new export written atomically to :func:`graph_path` (kept in memory only when
    no cache folder can be written)."""
    path = graph_path(source.path, source.sha256)
    if path.is_file():
        try:
            network = OnnxNetwork(path, threads)
            if network.metadata.get(SHA_KEY) == source.sha256 and network.metadata.get(RECIPE_KEY) == RECIPE:
                check_graph(network, model, source.in_channels, source.multiple)
                return network
        except Exception:  # noqa: BLE001 - a damaged or foreign cached graph is rebuilt, whatever broke
            pass
    graph = export_graph(model, source.in_channels, source.multiple, source.sha256)
    network = OnnxNetwork(graph, threads)
    check_graph(network, model, source.in_channels, source.multiple)
    for target in dict.fromkeys((path, cache_dir() / f"{source.sha256}.onnx")):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, graph)
            break
        except OSError:  # a read-only folder or a full disk: try the cache folder, else keep it in memory
            continue
    return network


def _network_for(source: ModelSource, model: nn.Module) -> OnnxNetwork:
    """The session for ``model`` as it is now, built when missing, stale (other weights) or of another thread
    count. Raises whatever ONNX Runtime, the exporter or the check raise."""
    threads = torch.get_num_threads()
    now = fingerprint(model)
    if source.network is not None and source.built_for == now and source.network.threads == threads:
        return source.network
    source.network = None  # the old session's memory goes before the new one is built
    if now == source.loaded:
        network = _cached_network(source, model, threads)
    else:  # changed in memory since loading: its own graph, never written where the file's graph goes
        source.changes += 1
        graph = export_graph(model, source.in_channels, source.multiple, "changed in memory")
        network = OnnxNetwork(graph, threads)
        check_graph(network, model, source.in_channels, source.multiple)
    source.network, source.built_for = network, now
    return network


def _refuse(source: ModelSource, reason: str) -> None:
    """Give up ONNX Runtime for ``source``: an error for ``onnx``, else one warning and PyTorch from now on."""
    if source.engine == "onnx":
        raise PgsslError(f"the ONNX engine cannot run {source.path.name}: {reason}; use --engine torch or auto")
    source.refused = reason
    warnings.warn(f"ONNX Runtime not used for {source.path.name} ({reason}): predicting with PyTorch",
                  EngineFallbackWarning, stacklevel=3)


def run_network(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits (N, classes, H, W) of ``model`` for a normalised batch ``x`` (N, C, H, W) whose sides are
    multiples of the network's stride: ONNX Runtime where this module's rules choose it (see the module
    docstring), else ``model(x)``. The ONNX result is a float32 CPU tensor.

    Raises:
        PgsslError: the engine is ``onnx`` and ONNX Runtime cannot run this network.
    """
    source = _SOURCES.get(model)
    if (source is None or source.engine == "torch" or source.refused is not None or model.training
            or x.device.type != "cpu" or torch.is_grad_enabled()):
        return model(x)
    if source.changes >= MAX_IN_MEMORY_EXPORTS and source.built_for != fingerprint(model):
        forget_source(model)  # its weights keep changing: it is being trained, PyTorch is its engine
        return model(x)
    try:
        import onnxruntime  # noqa: F401 - only whether it is installed
    except ImportError:
        _refuse(source, "onnxruntime is not installed")
        return model(x)
    try:
        network = _network_for(source, model)
    except Exception as exc:  # noqa: BLE001 - export, session or check: any of them means "not this network"
        _refuse(source, first_line(exc) or type(exc).__name__)
        return model(x)
    return network(x)


def active_engine(model: nn.Module) -> str:
    """``"onnx"`` when ``model``'s last CPU prediction ran on ONNX Runtime, else ``"torch"`` (for logs,
    benchmarks and tests; a network never run yet is ``"torch"``)."""
    source = _SOURCES.get(model)
    if source is None or source.network is None or source.refused is not None:
        return "torch"
    return "onnx" if source.built_for == fingerprint(model) else "torch"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a model file (the key of its cached graph), read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
