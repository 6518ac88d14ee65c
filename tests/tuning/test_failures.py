"""Trials that diverge are recorded as failed with their reason, and the search goes on up to
keras-tuner's limit of consecutive failures; resumed with a higher limit it finishes."""

import json
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.tuning import TuneConfig, search
from tests.tuning.conftest import quick_settings


def test_diverged_trials_fail_with_their_reason_and_the_search_goes_on(tmp_path):
    # A first learning rate of 1e5 or more diverges at once; the references train at 0.02.
    config = TuneConfig.from_dict(quick_settings(
        output_dir=str(tmp_path), max_trials=3, max_consecutive_failed_trials=2,
        learning_rate_range=[1e5, 1e6], learning_rates=[0.02], switch_epochs=None, epochs=1,
        steps_per_epoch=5))
    with pytest.raises(RuntimeError, match="consecutive failures exceeded the limit of 2"):
        search(config)
    assert not (tmp_path / "results.json").exists()

    # The limit may change on resume (it does not change what a trial trains).
    result = search(config.replace(max_consecutive_failed_trials=5))
    assert [trial.status for trial in result.trials] == ["FAILED"] * 3
    assert result.best is None
    for trial in result.trials:
        assert re.fullmatch(r"Training diverged: the loss is (nan|inf) at step \d+\. .*",
                            trial.reason)
        assert 1e5 <= trial.learning_rate <= 1e6
        run_dir = tmp_path / "keras_tuner" / f"trial_{trial.trial_id}" / "execution0"
        assert json.loads((run_dir / "failure.json").read_text())["reason"] == trial.reason
        assert "results" not in json.loads((run_dir / "run.json").read_text())
        latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
        if latest is not None:  # no checkpoint ever holds diverged weights
            reader = tf.train.load_checkpoint(latest)
            for name in reader.get_variable_to_shape_map():
                assert np.all(np.isfinite(reader.get_tensor(name))), name
    assert all(reference.metrics for reference in result.references.values())
    table = (tmp_path / "results.md").read_text()
    assert table.count("| failed: Training diverged: the loss is") == 3
    assert "No trial completed." in table
