"""The quick slope search (recipes/configs/tune_lrelu_quick.toml), killed in its second trial
and resumed: every trial runs once, the reported errors are those of the trained weights on
the held-out images, the report holds every trial and reference, and a rerun trains nothing."""

import contextlib
import csv
import io
import json
import signal
import time

import keras
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf

from keras_prelu.data import load_digits
from keras_prelu.training import RunDirectoryError
from keras_prelu.tuning import LReLUSlopeHyperModel, TuneConfig, search
from tests.tuning.conftest import quick_settings, start_search

TRIALS = ("0", "1", "2")
REFERENCES = ("relu", "prelu", "prelu_shared")
STEPS = 2 * 40  # the quick config: 2 epochs of 40 steps
VALIDATION = 200


def run_dir(directory, trial):
    return directory / "keras_tuner" / f"trial_{trial}" / "execution0"


def recorded(path):
    return json.loads((path / "run.json").read_text())


def searched(config):
    """Runs `search(config)`; returns its result and everything it printed."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = search(config)
    return result, output.getvalue()


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """The quick search killed (SIGKILL) at its second trial's first checkpoint, then resumed
    in this process; (config, result, output of the resumed search, trial 0's history before
    the resume)."""
    workdir = tmp_path_factory.mktemp("search")
    directory = workdir / "search"
    values = quick_settings(output_dir=str(directory), checkpoint_every=10)
    process, log = start_search(values, workdir, "killed")
    checkpoints = run_dir(directory, "1") / "checkpoints"
    deadline = time.monotonic() + 300
    while tf.train.latest_checkpoint(str(checkpoints)) is None:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the second trial never checkpointed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = int(tf.train.latest_checkpoint(str(checkpoints)).rsplit("-", 1)[1])
    assert killed_at < STEPS and not (directory / "results.json").exists()
    first = (run_dir(directory, "0") / "history.csv").read_bytes()

    config = TuneConfig.from_dict(values)
    result, output = searched(config)
    return config, result, output, first


def test_an_interrupted_search_resumes_without_rerunning_finished_trials(resumed):
    config, result, output, first = resumed
    directory = result.directory
    # Trial 0 had finished: not run again. Trial 1 resumed from its checkpoint; 2 started.
    assert "trial_0" not in output
    assert output.count(f"Resuming the run in {run_dir(directory, '1')}") == 1
    assert output.count(f"Starting the run in {run_dir(directory, '2')}") == 1
    assert (run_dir(directory, "0") / "history.csv").read_bytes() == first
    assert [trial.trial_id for trial in result.trials] == list(TRIALS)
    for trial in TRIALS:
        path = run_dir(directory, trial)
        assert recorded(path)["results"]["steps"] == STEPS
        with open(path / "history.csv") as handle:
            assert [row["epoch"] for row in csv.DictReader(handle)] == ["0", "1"]


def test_each_trial_trained_lrelu_at_its_slope_and_the_references_their_rectifier(resumed):
    config, result, _, _ = resumed
    slopes = {trial.trial_id: trial.slope for trial in result.trials}
    assert len(set(slopes.values())) == len(TRIALS)
    assert all(0 <= slope <= 1 for slope in slopes.values())
    for trial, slope in slopes.items():
        trained = json.loads((run_dir(result.directory, trial) / "config.json").read_text())
        assert (trained["activation"], trained["negative_slope"]) == ("lrelu", slope)
    for activation in REFERENCES:
        path = result.directory / "references" / activation / "execution0"
        trained = json.loads((path / "config.json").read_text())
        assert (trained["activation"], trained["negative_slope"]) == (activation, None)
        assert recorded(path)["results"]["steps"] == STEPS


def validation_error(model, mean):
    """Top-1 error on the quick config's held-out digits (the first 200 of the training
    split's fixed permutation), ties counted against the label."""
    (x, y), _ = load_digits()
    held_out = np.random.default_rng(0).permutation(len(x))[:VALIDATION]
    scores = model.predict(x[held_out].astype("float32") - mean, verbose=0)
    truth = scores[np.arange(VALIDATION), y[held_out]][:, None]
    return float(np.mean(np.sum(scores >= truth, axis=1) - 1 >= 1))


def restored(model, path):
    """`model` with the weights of the last checkpoint of the run in `path`."""
    latest = tf.train.latest_checkpoint(str(path / "checkpoints"))
    tf.train.Checkpoint(model=[v.value for v in model.variables]).restore(
        latest).expect_partial()
    return model


def test_reported_errors_are_those_of_the_trained_weights(resumed):
    config, result, _, _ = resumed
    hypermodel = LReLUSlopeHyperModel(config)
    reported = json.loads((result.directory / "results.json").read_text())
    assert [t["trial_id"] for t in reported["trials"]] == list(TRIALS)
    for trial in reported["trials"]:
        path = run_dir(result.directory, trial["trial_id"])
        hp = keras_tuner.HyperParameters()
        hp.values["slope"] = trial["slope"]
        keras.backend.clear_session()
        model = restored(hypermodel.build(hp), path)
        assert trial["status"] == "COMPLETED"
        assert trial["metrics"]["val_top1_error"] == pytest.approx(
            validation_error(model, np.load(path / "mean.npy")), abs=1e-6)
    for activation in REFERENCES:
        path = result.directory / "references" / activation / "execution0"
        keras.backend.clear_session()
        model = restored(hypermodel.build_config(
            hypermodel.reference_config(activation, path)), path)
        assert reported["references"][activation]["metrics"]["val_top1_error"] == pytest.approx(
            validation_error(model, np.load(path / "mean.npy")), abs=1e-6)
    best = min(reported["trials"], key=lambda trial: trial["metrics"]["val_top1_error"])
    assert reported["best"]["trial_id"] == best["trial_id"]


def test_the_report_has_every_trial_and_reference_and_a_readable_plot(resumed):
    config, result, _, _ = resumed
    table = (result.directory / "results.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(TRIALS) + len(REFERENCES)
    assert [row.split(" | ")[0] for row in rows[:3]] == [
        "| ReLU", "| PReLU, channel-wise", "| PReLU, channel-shared"]
    slopes = [float(row.split(" | ")[1]) for row in rows[3:]]
    assert slopes == sorted(round(trial.slope, 3) for trial in result.trials)
    best = result.best
    assert f"Best slope {best.slope:.3f} (trial {best.trial_id})" in table
    assert f"{100 * best.metrics['val_top1_error']:.2f}%" in table
    image = keras.utils.load_img(result.plot)
    assert image.size == (1200, 825)  # the plotting module's 8 inches wide, 5.5 high, 150 dpi


def test_a_rerun_trains_nothing_and_reports_the_same(resumed):
    config, result, _, _ = resumed
    before = (result.directory / "results.json").read_text()
    again, output = searched(config)
    assert "Starting the run" not in output and "Resuming the run" not in output
    assert [(t.trial_id, t.slope, t.metrics) for t in again.trials] == [
        (t.trial_id, t.slope, t.metrics) for t in result.trials]
    saved = json.loads((result.directory / "results.json").read_text())
    assert saved["trials"] == json.loads(before)["trials"]


def test_another_search_space_in_the_directory_is_refused_before_anything_runs(resumed):
    config, result, _, _ = resumed
    listing = sorted(path.relative_to(result.directory) for path in result.directory.rglob("*"))
    with pytest.raises(RunDirectoryError, match=r"slope_max 1\.0 \(this run: 0\.5\)"):
        search(config.replace(slope_max=0.5))
    with pytest.raises(RunDirectoryError, match=r"tuner \"random\" \(this run: \"bayesian\"\)"):
        search(config.replace(tuner="bayesian"))
    assert sorted(path.relative_to(result.directory)
                  for path in result.directory.rglob("*")) == listing


def test_a_worker_with_other_settings_is_refused_before_it_asks_for_a_trial(resumed, monkeypatch):
    config, result, _, _ = resumed
    # A worker of a distributed search: the chief (here, the finished search) has claimed the
    # directory. No oracle listens on the port: the refusal comes before any request.
    for name, value in (("KERASTUNER_TUNER_ID", "worker0"), ("KERASTUNER_ORACLE_IP", "127.0.0.1"),
                        ("KERASTUNER_ORACLE_PORT", "9")):
        monkeypatch.setenv(name, value)
    with pytest.raises(RunDirectoryError, match=r"slope_min 0\.0 \(this run: 0\.2\)"):
        search(config.replace(slope_min=0.2, start_over=True))
    assert not (result.directory.parent / f"{result.directory.name}.old-1").exists()
