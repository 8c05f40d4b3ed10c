"""Start the app with `streamlit run` on a free loopback port, and Debian Chromium's launch settings.

Used by the browser fixtures (``conftest.py``) and by ``benchmarks/app_timings.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# without the background-networking flags Chromium keeps dialling out, which this closed network refuses
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"streamlit did not answer at {url} within {timeout:.0f} s")


def start_app(projects: Path, log: IO[bytes] | int = subprocess.DEVNULL,
              timeout: float = 120.0) -> tuple[subprocess.Popen, str]:
    """Run the app on a free port with ``projects`` as its projects folder; returns once it answers.

    It gets its own training lock, so a job elsewhere on the machine never makes it "busy".
    """
    port = free_port()
    env = {**os.environ, "PGSSL_PROJECTS_DIR": str(projects), "PGSSL_TRAIN_LOCK": str(projects / "train.lock"),
           "PGSSL_OFFER_TEST_PROFILE": "1"}  # the seconds-long test profile, hidden from users
    cmd = [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "app" / "main.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout)
    except BaseException:
        proc.kill()
        raise
    return proc, url


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
