"""The Node servers' packages: ``tests/emulators`` holds their npm manifest, lock and patches.

CI runs ``npm ci`` there; a fresh checkout gets it on the first test that starts one.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from pathlib import Path

EMULATORS = Path(__file__).resolve().parents[1] / "emulators"


def ensure_installed(marker: Path, what: str) -> None:
    """``npm ci`` in ``tests/emulators`` (which applies the patches) unless ``marker`` exists."""
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to install {what} (tests/emulators)")
    # A lock, so parallel test processes on a fresh checkout install once.
    with (Path(tempfile.gettempdir()) / "mystira-emulators-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=EMULATORS, check=True, timeout=600
            )
    if not marker.exists():
        raise RuntimeError(f"npm ci ran but {what} is not installed")
