"""A project's record of how fast its training runs went, per profile and kind of device, for the next
run's estimate (:func:`pgssl_core.train.eta.estimate_run`)."""

from __future__ import annotations

from pathlib import Path

from pgssl_core.catalog import Project
from pgssl_core.train import get_profile
from pgssl_core.train.eta import estimate_run, measured_speed

#: Project setting: ``{"<profile>@<device type>": {"seg": s/step, "pretrain": s/step, "overhead": ratio}}``.
SPEED_SETTING = "train_speed"


def device_type(device: str = "auto") -> str:
    """The kind of device ``device`` resolves to here: ``"cpu"``, ``"cuda"``, ..."""
    from pgssl_core.models.device import resolve_device  # torch only when asked

    return resolve_device(device).type


def stored_speed(project: Project, profile_name: str, device: str = "auto") -> dict[str, float] | None:
    """Seconds per step recorded by the last finished run of this profile on this kind of device."""
    return (project.get_setting(SPEED_SETTING) or {}).get(f"{profile_name}@{device_type(device)}")


def record_speed(project: Project, run_dir: str | Path, method: str, profile_name: str, device: str,
                 wall_s: float | None) -> None:
    """Keep the measured speed of a finished run (started, not resumed) for the next estimate.

    ``wall_s``: the run's wall time; with it the speed carries ``overhead``, the share of the wall time
    outside the steps (validation, pseudo-labelling and start-up).
    """
    speed = measured_speed(run_dir, get_profile(profile_name))
    if not speed:
        return
    steps_only = estimate_run(method, profile_name, speed).seconds
    if wall_s and steps_only > 0:
        speed["overhead"] = max(1.0, wall_s / steps_only)
    key = f"{profile_name}@{device_type(device)}"
    project.set_setting(SPEED_SETTING, {**(project.get_setting(SPEED_SETTING) or {}), key: speed})
