"""The recipes' command line: strict flags, switches, help texts, one-line errors."""

import argparse
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from keras_prelu import cli
from keras_prelu.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def parse(argv):
    return cli.parse_settings(TrainConfig, argv, description="test")


def test_boolean_settings_are_switches():
    config = parse(["--xla"])
    assert (config.xla, config.deterministic) == (True, False)
    config = parse(["--deterministic", "--seed", "1"])
    assert (config.deterministic, config.seed) == (True, 1)
    assert parse(["--no-xla"]).xla is False
    assert parse([]).xla is False


def test_values_parse_to_exact_types():
    config = parse(["--epochs", "3", "--learning-rates", "0.1", "1e-3", "--spp-levels", "2",
                    "1", "--width", "0.5", "--switch-epochs", "none", "--seed", "none",
                    "--mixed-precision", "native"])
    assert (config.epochs, config.learning_rates, config.spp_levels, config.width,
            config.mixed_precision) == (3, (0.1, 0.001), (2, 1), 0.5, "native")
    assert config.switch_epochs is None and config.seed is None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "2.9"], "--epochs takes an integer, got '2.9'"),
        (["--width", "wide"], "--width takes a number, got 'wide'"),
        (["--dataset", "mnist"], r"Setting dataset must be one of \('fashion_mnist'"),
        (["--verbose", "3"], r"Setting verbose must be one of \(0, 1, 2\), got 3"),
        (["--mixed-precision", "yes"],
         r"Setting mixed_precision must be one of \('off', 'on', 'native'\), got 'yes'"),
    ],
)
def test_bad_values_are_clear_errors(argv, message):
    with pytest.raises(ValueError, match=message):
        parse(argv)


def test_a_value_after_a_switch_says_what_switches_take(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(["--xla", "1"])
    assert exit_info.value.code == 2
    assert "boolean settings are switches: --xla turns one on, --no-xla off" in (
        capsys.readouterr().err)


def test_every_flag_has_a_help_text_with_its_allowed_values():
    parser = cli.build_parser(TrainConfig, description="test")
    actions = {action.dest: action for action in parser._actions}
    for field in dataclasses.fields(TrainConfig):
        action = actions[field.name]
        assert action.help and "default" in action.help, field.name
        for choice in field.metadata.get("choices", ()):
            assert str(choice) in action.help, (field.name, choice)
        if field.type is bool:
            assert isinstance(action, argparse.BooleanOptionalAction), field.name


def test_config_file_then_flags(tmp_path):
    (tmp_path / "run.toml").write_text('dataset = "digits"\nepochs = 5\nseed = 3\n')
    config = parse(["--config", str(tmp_path / "run.toml"), "--epochs", "2"])
    assert (config.dataset, config.epochs, config.seed) == ("digits", 2, 3)


def run_recipe(*argv):
    # As a user runs it: without the test session's TF_CPP_MIN_LOG_LEVEL.
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, str(ROOT / "recipes" / "train.py"), *argv],
                          capture_output=True, text=True, timeout=300, env=env)


def test_errors_are_one_line_without_a_traceback_unless_debug(tmp_path):
    failed = run_recipe("--dataset", "fashion_mnist", "--data-dir", str(tmp_path / "none"),
                        "--output-dir", str(tmp_path / "run"))
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    error = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "holds no Fashion-MNIST files" in error[0]
    assert "run with --debug for the traceback" in failed.stderr
    assert not (tmp_path / "run").exists()  # nothing written

    debug = run_recipe("--dataset", "fashion_mnist", "--data-dir", str(tmp_path / "none"),
                       "--output-dir", str(tmp_path / "run"), "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "DatasetNotFoundError" in debug.stderr


def test_the_recipe_starts_without_tensorflow_noise(tmp_path):
    # What a user sees first is our output: no oneDNN or CUDA notices.
    started = run_recipe("--help")
    assert started.returncode == 0
    assert started.stdout.startswith("usage: train.py")
    for noise in ("cuInit", "cudart_stub", "oneDNN", "absl::InitializeLog"):
        assert noise not in started.stderr
