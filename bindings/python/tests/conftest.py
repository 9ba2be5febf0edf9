"""Fixtures: a pool directory per test, the `pls` installed by the wheel, and a `pls serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import plasmite


def pls_path() -> str:
    """The `pls` of the environment the tests run in (the wheel installs it next to python)."""
    here = Path(sys.executable).parent / "pls"
    if here.exists():
        return str(here)
    found = shutil.which("pls")
    if found is None:
        pytest.skip("pls is not installed")
    return found


@pytest.fixture
def pool_dir(tmp_path: Path) -> Path:
    return tmp_path / "pools"


@pytest.fixture
def client(pool_dir: Path):
    with plasmite.Client(str(pool_dir)) as c:
        yield c


@pytest.fixture
def pool(client):
    with client.create_pool("events", 1024 * 1024) as p:
        yield p


class Served:
    def __init__(self, proc: subprocess.Popen, addr: str, pool_dir: Path) -> None:
        self.proc = proc
        self.url = f"http://{addr}"
        self.pool_dir = pool_dir


@pytest.fixture
def serve(tmp_path: Path, pool_dir: Path):
    """`pls --dir DIR serve --bind 127.0.0.1:0`, waiting until it listens."""
    ready = tmp_path / "ready"
    log = open(tmp_path / "serve.log", "wb")
    env = dict(os.environ, PLASMITE_SERVE_READY_FILE=str(ready), HOME=str(tmp_path))
    proc = subprocess.Popen(
        [pls_path(), "--dir", str(pool_dir), "serve", "--bind", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )
    deadline = time.monotonic() + 15
    try:
        while True:
            if ready.exists() and ready.read_text().strip():
                break
            if proc.poll() is not None:
                raise RuntimeError(f"pls serve exited: {(tmp_path / 'serve.log').read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError("pls serve did not listen within 15 s")
            time.sleep(0.01)
        yield Served(proc, ready.read_text().strip(), pool_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
