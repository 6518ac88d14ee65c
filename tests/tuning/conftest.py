import json
import os
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
QUICK_CONFIG = ROOT / "recipes" / "configs" / "tune_lrelu_quick.toml"
RUNNER = Path(__file__).parents[1] / "runners" / "run_search.py"


def quick_settings(**changes):
    """The quick search's settings (recipes/configs/tune_lrelu_quick.toml) as a dict."""
    return {**tomllib.loads(QUICK_CONFIG.read_text()), **changes}


def start_search(config, workdir, name, cpu_replicas=1, env=None):
    """Starts run_search.py on `config` in a new process; its output goes to <name>.log.

    Returns:
        (process, log path).
    """
    workdir = Path(workdir)
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    log = workdir / f"{name}.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, str(RUNNER), str(path), "--cpu-replicas", str(cpu_replicas)],
            env={**os.environ, **(env or {})}, stdout=handle, stderr=subprocess.STDOUT,
            text=True)
    return process, log
