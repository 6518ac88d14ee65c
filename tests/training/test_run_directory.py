"""A run directory belongs to one run; nothing is written before a run is valid; every
file is written whole; epochs are counted exactly."""

import json
import os

import pytest

from keras_prelu.data import DatasetNotFoundError
from keras_prelu.training import RunDirectoryError, TrainConfig, train
from keras_prelu.training.callbacks import epoch_summary, format_duration
from keras_prelu.training.run_directory import write_atomically, write_json
from tests.training.conftest import TINY as SUBPROCESS_TINY

TINY = {**SUBPROCESS_TINY, "deterministic": False, "epochs": 1}
STEPS = (1437 - 200) // 32  # digits' training split at batch 32


def snapshot(directory):
    """{relative path: (bytes, mtime)} of every file below `directory`."""
    return {
        str(path.relative_to(directory)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*")) if path.is_file()
    }


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 1-epoch run and the snapshot of its directory."""
    output_dir = tmp_path_factory.mktemp("finished")
    config = TrainConfig.from_dict({**TINY, "output_dir": str(output_dir)})
    result = train(config)
    return config, result, snapshot(output_dir)


def test_a_different_run_is_refused_before_anything_is_written(finished):
    config, result, files = finished
    other = config.replace(width=0.25, learning_rates=(0.1, 0.01, 0.001))
    with pytest.raises(RunDirectoryError) as error:
        train(other)
    message = str(error.value)
    assert f"{result.output_dir} holds another run" in message
    assert "width 0.125 (this run: 0.25)" in message
    assert "learning_rates [0.01, 0.001, 0.0001] (this run: [0.1, 0.01, 0.001])" in message
    assert "--start-over" in message and "another --output-dir" in message
    assert snapshot(result.output_dir) == files


def test_settings_that_may_change_on_resume_do_not_make_another_run(finished):
    config, result, files = finished
    again = train(config.replace(verbose=2, checkpoint_every=7))
    assert again.errors == result.errors and again.steps == result.steps == STEPS
    assert again.history == {}  # finished: nothing trained, nothing rewritten
    assert snapshot(result.output_dir) == files


def test_a_run_failing_early_leaves_the_finished_run_intact(finished):
    config, result, files = finished
    failing = config.replace(dataset="image_folder", data_dir="/nonexistent", start_over=True)
    with pytest.raises(DatasetNotFoundError):
        train(failing)
    assert snapshot(result.output_dir) == files
    assert not result.output_dir.with_name(result.output_dir.name + ".old-1").exists()


def test_start_over_moves_the_old_run_aside(tmp_path):
    first = TrainConfig.from_dict({**TINY, "output_dir": str(tmp_path / "run")})
    train(first)
    old = snapshot(tmp_path / "run")
    second = first.replace(epochs=2, start_over=True)
    result = train(second)
    assert result.steps == 2 * STEPS
    assert snapshot(tmp_path / "run.old-1") == old
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert recorded["identity"]["epochs"] == 2 and recorded["results"]["steps"] == 2 * STEPS


def test_a_directory_of_other_files_is_not_taken(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    config = TrainConfig.from_dict({**TINY, "output_dir": str(tmp_path / "run")})
    with pytest.raises(RunDirectoryError, match="is not empty and holds no run.json"):
        train(config)
    assert [path.name for path in (tmp_path / "run").iterdir()] == ["notes.txt"]


def test_more_steps_per_epoch_than_an_epoch_holds_is_an_error(tmp_path):
    config = TrainConfig.from_dict({**TINY, "steps_per_epoch": STEPS + 1,
                                    "output_dir": str(tmp_path / "run")})
    with pytest.raises(ValueError, match=rf"steps_per_epoch={STEPS + 1} is more than one epoch "
                                         rf"holds: {STEPS} batches of 32 from 1237 images"):
        train(config)
    assert not (tmp_path / "run").exists()


def test_the_default_directory_is_named_after_the_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig.from_dict({**TINY, "steps_per_epoch": 2})
    result = train(config)
    assert str(result.output_dir.parent) == "runs"
    assert result.output_dir.name.startswith("classification-digits-small14-")
    other = train(config.replace(seed=8))
    assert other.output_dir != result.output_dir  # another run, another directory


def test_atomic_writes_leave_the_old_file_when_writing_fails(tmp_path):
    write_json(tmp_path / "results.json", {"top1_error": 0.1})

    def broken(scratch):
        with open(scratch, "w") as handle:
            handle.write('{"top1_error": ')
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(tmp_path / "results.json", broken)
    assert json.loads((tmp_path / "results.json").read_text()) == {"top1_error": 0.1}
    assert os.listdir(tmp_path) == ["results.json"]  # no scratch file left


def test_progress_line_and_durations():
    line = epoch_summary(2, 11, {"loss": 0.3127, "top1_error": 0.104, "val_top1_error": 0.0812,
                                 "learning_rate": 0.01}, [20.0, 24.1, 23.0])
    assert line == ("Epoch 3/11: loss 0.3127, top-1 error 10.40%, validation top-1 error 8.12%, "
                    "learning rate 0.01; 23.0 s; about 3 min 04 s left")
    assert epoch_summary(10, 11, {}, [5.0]) == "Epoch 11/11: 5.0 s"
    assert [format_duration(s) for s in (45, 192, 7500)] == ["45 s", "3 min 12 s", "2 h 05 min"]


def test_epoch_headers_count_the_whole_run(tmp_path, capsys):
    config = TrainConfig.from_dict({**TINY, "epochs": 2, "steps_per_epoch": 3, "verbose": 1,
                                    "output_dir": str(tmp_path / "run")})
    train(config)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "Epoch 2/2:" in out
    assert "Epoch 1/1" not in out
