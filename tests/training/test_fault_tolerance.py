"""A run killed with SIGKILL mid-epoch resumes where it stopped and, in deterministic
mode, ends with the very weights and step count of a run that was never interrupted."""

import signal
import time

import numpy as np
import tensorflow as tf

from tests.training.conftest import finish, run_training, start_training

STEPS_PER_EPOCH = (1437 - 200) // 32  # digits' training split at batch 32


def latest_step(checkpoints):
    latest = tf.train.latest_checkpoint(str(checkpoints))
    return None if latest is None else int(latest.rsplit("-", 1)[1])


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tiny_config, tmp_path):
    config = {**tiny_config, "epochs": 3, "checkpoint_every": 5}
    reference = run_training({**config, "output_dir": str(tmp_path / "reference")}, tmp_path,
                             "reference")
    assert reference.steps == 3 * STEPS_PER_EPOCH

    run_dir = tmp_path / "killed"
    process, weights = start_training({**config, "output_dir": str(run_dir)}, tmp_path,
                                      "killed")
    deadline = time.monotonic() + 300
    while True:  # kill at the first checkpoint inside the second epoch
        step = latest_step(run_dir / "checkpoints")
        if step is not None and step > STEPS_PER_EPOCH and step % STEPS_PER_EPOCH:
            break
        assert process.poll() is None and time.monotonic() < deadline, "run ended too soon"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = latest_step(run_dir / "checkpoints")
    assert killed_at < 3 * STEPS_PER_EPOCH and not weights.exists()

    resumed = finish(*start_training({**config, "output_dir": str(run_dir)}, tmp_path,
                                     "resumed"))
    assert resumed.steps == reference.steps
    for got, want in zip(resumed.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(got, want)
    # The history of the resumed run starts at the epoch it was killed in.
    history = (run_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch") and history[-1].startswith("2,")
