"""Bad search spaces and flags give one clear error before anything is written."""

import re
import runpy

import pytest

from tests.tuning.conftest import QUICK_CONFIG, ROOT

RECIPE = runpy.run_path(str(ROOT / "recipes" / "tune_lrelu.py"))


@pytest.mark.parametrize(("flags", "message"), [
    (["--slope-min", "0.3", "--slope-max", "0.3"],
     r"The slope range \[0\.3, 0\.3\] is empty: give slope_min < slope_max\."),
    (["--slope-min", "0.6", "--slope-max", "0.2"],
     r"The slope range \[0\.6, 0\.2\] is inverted"),
    (["--slope-max", "1.5"], r"slope_max=1\.5 is outside \[0, 1\]"),
    (["--slope-min", "-0.1"], r"slope_min=-0\.1 is outside \[0, 1\]"),
    (["--tuner", "grid"], r"Setting tuner must be one of \('random', 'bayesian', 'hyperband'\)"),
    (["--objective", "val_accuracy"], r"Setting objective must be one of \('val_top1_error'"),
    (["--learning-rate-range", "0.01"], r"learning_rate_range takes two numbers"),
    (["--learning-rate-range", "0.1", "0.01"], r"two positive rates, lowest first"),
    (["--executions-per-trial", "0"], r"executions_per_trial must be at least 1"),
    (["--activation", "prelu"], r"activation and negative_slope are set by the search"),
    (["--steps-per-epoch", "500"], r"steps_per_epoch=500 is more than one epoch holds"),
    (["--global-batch-size", "2000"], r"1237 training images make no batch of 2000"),
])
def test_a_bad_setting_is_one_error_before_anything_is_written(tmp_path, capsys, flags, message):
    output_dir = tmp_path / "search"
    with pytest.raises(SystemExit) as stopped:
        RECIPE["cli"].main(RECIPE["main"], ["--config", str(QUICK_CONFIG), "--output-dir",
                                            str(output_dir), *flags])
    assert stopped.value.code == 1
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 2 and error[1] == "(run with --debug for the traceback)"
    assert error[0].startswith("error: ")
    assert re.search(message, error[0]), error[0]
    assert not output_dir.exists()
