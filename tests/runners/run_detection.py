"""Runs `keras_prelu.detection.train_detector` in its own process, as the distribution test
needs (logical devices are set before TensorFlow starts).

    python run_detection.py CONFIG.json WEIGHTS.npz [--cpu-replicas N]

Writes the trained detector's weights, its step count and replicas to WEIGHTS.npz.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from devices import cpu_strategy  # noqa: E402  (tests/runners/devices.py)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("weights")
    parser.add_argument("--cpu-replicas", type=int, default=1)
    args = parser.parse_args()

    import numpy as np

    strategy = cpu_strategy(args.cpu_replicas)

    from keras_prelu.detection.training import DetectionConfig, train_detector

    with open(args.config) as handle:
        config = DetectionConfig.from_dict(json.load(handle))
    result = train_detector(config, strategy)
    weights = {f"w{i}": np.asarray(w) for i, w in enumerate(result.model.get_weights())}
    np.savez(args.weights, steps=result.results["steps"], replicas=result.results["replicas"],
             **weights)


if __name__ == "__main__":
    main()
