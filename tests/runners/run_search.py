"""Runs `keras_prelu.tuning.search` in its own process, as the distribution and interruption
tests need (logical devices are set before TensorFlow starts; keras-tuner's chief/worker
variables come from the environment).

    python run_search.py CONFIG.json [--cpu-replicas N]

Each trial of this process then trains on N logical CPU devices (MirroredStrategy).
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from devices import cpu_strategy  # noqa: E402  (tests/runners/devices.py)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--cpu-replicas", type=int, default=1)
    args = parser.parse_args()

    strategy = cpu_strategy(args.cpu_replicas)

    from keras_prelu.tuning import TuneConfig, search

    with open(args.config) as handle:
        search(TuneConfig.from_dict(json.load(handle)), strategy)


if __name__ == "__main__":
    main()
