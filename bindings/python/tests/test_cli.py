"""The wheel installs the command line: `pls` and `plasmite`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import plasmite
from conftest import pls_path


def test_pls_from_the_wheel_runs():
    out = subprocess.run([pls_path(), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip()


def test_plasmite_command_runs_the_same_cli():
    exe = Path(sys.executable).parent / "plasmite"
    path = str(exe) if exe.exists() else shutil.which("plasmite")
    assert path, "the plasmite command is installed"
    a = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    b = subprocess.run([pls_path(), "--version"], capture_output=True, text=True, check=True)
    assert a.stdout.split()[-1] == b.stdout.split()[-1]


def test_cli_and_library_share_pools(client, pool_dir):
    p = client.create_pool("shared")
    p.append({"from": "python"})
    out = subprocess.run(
        [pls_path(), "--dir", str(pool_dir), "fetch", "shared", "1"],
        capture_output=True, text=True, check=True,
    )
    assert json.loads(out.stdout)["data"] == {"from": "python"}
