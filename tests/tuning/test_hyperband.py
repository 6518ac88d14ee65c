"""Hyperband's continued trials: a trial of n epochs is the first n epochs of the full run, and
the trial continuing it from its last checkpoint trains what one uninterrupted run would."""

import csv

import keras_tuner
import pytest

from keras_prelu.tuning import LReLUSlopeHyperModel, TuneConfig
from tests.tuning.conftest import quick_settings


def history(run_dir):
    with open(run_dir / "history.csv") as handle:
        return list(csv.DictReader(handle))


def test_a_continued_trial_trains_what_an_uninterrupted_run_would(tmp_path):
    config = TuneConfig.from_dict(quick_settings(epochs=2, steps_per_epoch=10))
    hypermodel = LReLUSlopeHyperModel(config)

    def values(**more):
        hp = keras_tuner.HyperParameters()
        hp.values.update({"slope": 0.3, **more})
        return hp

    short = values(**{"tuner/epochs": 1, "tuner/initial_epoch": 0})
    short_config = hypermodel.trial_config(short, tmp_path / "short")
    # Its epoch is the full schedule's first: the switch to 0.002 at epoch 1 is dropped.
    assert (short_config.epochs, short_config.learning_rates, short_config.switch_epochs) == (
        1, (0.02,), None)
    hypermodel.train_run(short_config, short)

    continued = values(**{"tuner/epochs": 2, "tuner/initial_epoch": 1, "tuner/trial_id": "0"})
    logs = hypermodel.train_run(hypermodel.trial_config(continued, tmp_path / "continued"),
                                continued, start_from=tmp_path / "short")
    full = values()
    expected = hypermodel.train_run(hypermodel.trial_config(full, tmp_path / "full"), full)

    assert logs == pytest.approx(expected, abs=1e-6)
    rows, reference = history(tmp_path / "continued"), history(tmp_path / "full")
    assert [row["epoch"] for row in rows] == ["0", "1"]
    assert rows[0] == history(tmp_path / "short")[0]
    for row, want in zip(rows, reference, strict=True):
        assert {k: float(v) for k, v in row.items()} == pytest.approx(
            {k: float(v) for k, v in want.items()}, abs=1e-6)
