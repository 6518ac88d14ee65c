import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

RUNNER = Path(__file__).parents[1] / "runners" / "run_training.py"

# A network small enough for a CPU test: the 14-layer model of Table 1 at 1/8 width on
# scikit-learn's 8x8 digits, deterministic.
TINY = {
    "dataset": "digits",
    "model": "small14",
    "stem": "small",
    "width": 0.125,
    "fc_units": 32,
    "spp_levels": [2, 1],
    "global_batch_size": 32,
    "validation_size": 200,
    "epochs": 2,
    "seed": 7,
    "deterministic": True,
    "verbose": 0,
}


@pytest.fixture
def tiny_config():
    return dict(TINY)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_training(config, workdir, name, cpu_replicas=1, env=None):
    """Starts run_training.py on `config` in a new process; returns (process, weights path)."""
    workdir = Path(workdir)
    config_path = workdir / f"{name}.json"
    config_path.write_text(json.dumps(config))
    weights = workdir / f"{name}.npz"
    process = subprocess.Popen(
        [sys.executable, str(RUNNER), str(config_path), str(weights),
         "--cpu-replicas", str(cpu_replicas)],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, weights


class Run(NamedTuple):
    steps: int
    replicas: int
    weights: list


def finish(process, weights, timeout=600):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output[-3000:]
    with np.load(weights) as saved:
        count = len([name for name in saved.files if name.startswith("w")])
        return Run(int(saved["steps"]), int(saved["replicas"]),
                   [saved[f"w{i}"] for i in range(count)])


def run_training(config, workdir, name, cpu_replicas=1):
    return finish(*start_training(config, workdir, name, cpu_replicas))
