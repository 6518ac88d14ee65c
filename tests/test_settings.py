"""Settings dataclasses: strict types from files, flags and Python alike; file formats."""

import dataclasses

import pytest

from keras_prelu.settings import Settings, setting


@dataclasses.dataclass(frozen=True)
class Example(Settings):
    epochs: int = setting(80, "passes")
    rate: float = setting(0.01, "step size")
    name: str = setting("a", "a name", choices=("a", "b"))
    fast: bool = setting(False, "a switch")
    seed: int | None = setting(None, "optional")
    levels: tuple[int, ...] = setting((7, 3), "a tuple")
    rates: tuple[float, ...] | None = setting(None, "optional tuple")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"epochs": 2.9}, "Setting epochs must be an integer, got 2.9"),
        ({"epochs": True}, "Setting epochs must be an integer, got True"),
        ({"epochs": "3"}, "Setting epochs must be an integer, got '3'"),
        ({"rate": True}, "Setting rate must be a number, got True"),
        ({"rate": float("nan")}, "Setting rate must be a finite number"),
        ({"fast": 1}, "Setting fast must be true or false, got 1"),
        ({"fast": "yes"}, "Setting fast must be true or false, got 'yes'"),
        ({"name": "c"}, r"Setting name must be one of \('a', 'b'\), got 'c'"),
        ({"levels": 7}, "Setting levels must be a list of integers, got 7"),
        ({"levels": [7, 2.5]}, r"Setting levels must be a list of integers, got \[7, 2.5\]"),
        ({"levels": None}, "Setting levels must be a list of integers, not None"),
        ({"epoch": 3}, r"Unknown setting\(s\) \['epoch'\] in the settings; known: "),
    ],
)
def test_values_of_the_wrong_type_are_errors_not_coerced(values, message):
    with pytest.raises(ValueError, match=message):
        Example.from_dict(values)


def test_values_of_the_right_type_are_kept_exactly():
    example = Example.from_dict({"epochs": 3, "rate": 1, "levels": [6, 3, 2, 1],
                                 "rates": [0.1, 1], "seed": None, "fast": True})
    assert example.epochs == 3 and example.rate == 1.0 and isinstance(example.rate, float)
    assert example.levels == (6, 3, 2, 1) and example.rates == (0.1, 1.0)
    assert example.to_dict()["levels"] == [6, 3, 2, 1]
    # Python construction is checked as strictly as files are.
    with pytest.raises(ValueError, match="must be an integer, got 2.9"):
        Example(epochs=2.9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        example.epochs = 4


def test_toml_and_json_files_with_overrides(tmp_path):
    (tmp_path / "run.toml").write_text('epochs = 5\nlevels = [2, 1]\nname = "b"\n')
    loaded = Example.load(tmp_path / "run.toml", epochs=6)
    assert (loaded.epochs, loaded.levels, loaded.name) == (6, (2, 1), "b")
    (tmp_path / "run.json").write_text('{"rate": 0.5, "seed": 3}')
    assert Example.load(tmp_path / "run.json").rate == 0.5
    (tmp_path / "run.toml").write_text("epochs = 2.9\n")
    with pytest.raises(ValueError, match=r"epochs must be an integer, got 2.9"):
        Example.load(tmp_path / "run.toml")


@pytest.mark.parametrize(
    "name, text, error, message",
    [
        ("run.yaml", "epochs: 3\n", ValueError, "must be TOML .* or JSON .*, not '.yaml'; YAML is "
         "not supported"),
        ("run.yml", "epochs: 3\n", ValueError, "not '.yml'; YAML is not supported"),
        ("run", "epochs = 3\n", ValueError, "not 'a file without extension'"),
        ("run.toml", "epochs = = 3", ValueError, r"run.toml is not valid TOML"),
        ("run.json", "[1, 2]", ValueError, "must hold a table of settings, not a list"),
        ("run.json", "{", ValueError, "run.json is not valid JSON"),
        ("run.toml", "unknown = 1\n", ValueError,
         r"Unknown setting\(s\) \['unknown'\] in .*run.toml"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, name, text, error, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(error, match=message):
        Example.load(tmp_path / name)


def test_a_missing_file_is_named():
    with pytest.raises(FileNotFoundError, match="Cannot read the settings file /nonexistent.toml"):
        Example.load("/nonexistent.toml")
