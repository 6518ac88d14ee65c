"""Data-parallel training (Sec. 3, "Multi-GPU Implementation") gives the weights of a
single-device run with the same global batch: on two logical CPU devices
(MirroredStrategy) and on two worker processes on 127.0.0.1 (MultiWorkerMirroredStrategy)."""

import json

import numpy as np
import pytest

from tests.training.conftest import finish, free_ports, run_training, start_training

TEST_IMAGES = 360  # the digits test split


def equivalence_config(config, output_dir):
    # Dropout draws different masks per replica, so it is off here; 3 steps of 1 epoch.
    # The final test is 10-view testing, which runs outside the replicas (on one device).
    return {**config, "dropout": 0.0, "epochs": 1, "steps_per_epoch": 3,
            "test_method": "ten_view", "output_dir": str(output_dir)}


def final_errors(output_dir):
    results = json.loads((output_dir / "results.json").read_text())
    return results["top1_error"], results["top5_error"]


def assert_same_weights(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_mirrored_and_multi_worker_match_a_single_device(tiny_config, tmp_path):
    single = run_training(
        equivalence_config(tiny_config, tmp_path / "single"), tmp_path, "single")
    assert (single.steps, single.replicas) == (3, 1)

    mirrored = run_training(
        equivalence_config(tiny_config, tmp_path / "mirrored"), tmp_path, "mirrored",
        cpu_replicas=2)
    assert (mirrored.steps, mirrored.replicas) == (3, 2)
    assert_same_weights(mirrored.weights, single.weights)
    # Each test image scored once: a model of the replicas' scope would score each view
    # on both and return both copies.
    assert final_errors(tmp_path / "mirrored") == pytest.approx(
        final_errors(tmp_path / "single"), abs=2.5 / TEST_IMAGES)

    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    config = equivalence_config(tiny_config, tmp_path / "workers")
    processes = [
        start_training(config, tmp_path, f"worker{index}", env={"TF_CONFIG": json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})})
        for index in range(2)
    ]
    for worker in [finish(*process) for process in processes]:
        assert (worker.steps, worker.replicas) == (3, 2)
        assert_same_weights(worker.weights, single.weights)
    # Only the chief (worker 0) keeps checkpoints, the final model and the results.
    assert (tmp_path / "workers" / "model.keras").exists()
    assert final_errors(tmp_path / "workers") == pytest.approx(
        final_errors(tmp_path / "single"), abs=2.5 / TEST_IMAGES)
    assert not list((tmp_path / "workers" / "checkpoints").glob(".worker-*"))


def test_a_global_batch_that_does_not_split_is_refused_before_training(tiny_config, tmp_path):
    config = {**tiny_config, "global_batch_size": 33, "output_dir": str(tmp_path / "run")}
    process, _ = start_training(config, tmp_path, "odd", cpu_replicas=2)
    output, _ = process.communicate(timeout=300)
    assert process.returncode != 0
    assert "global batch size 33 does not divide among 2 replicas" in output
    assert not (tmp_path / "run" / "checkpoints").exists()
