"""The run's precision: `mixed_precision` off, on or native, as a Keras dtype policy."""

import subprocess

import keras
import pytest

from keras_prelu.training import TrainConfig, precision
from keras_prelu.training.run import prepare_run

EPYC_FLAGS = "fpu vme sse sse2 avx avx2 fma avx512f avx512bw avx512_vnni"


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """Points the module at a /proc/cpuinfo written by the test, for two processors."""
    path = tmp_path / "cpuinfo"
    monkeypatch.setattr(precision, "CPUINFO", path)

    def write(flags):
        path.write_text("".join(f"processor\t: {i}\nmodel name\t: AMD EPYC\nflags\t\t: "
                                f"{flags}\n\n" for i in range(2)))
    return write


@pytest.fixture(autouse=True)
def restore_policy():
    previous = keras.config.dtype_policy()
    yield
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("extra, policy", [
    ("", "float32"),  # AVX-512 without its BF16 extension emulates bfloat16
    (" avx512_bf16", "mixed_bfloat16"),
    (" amx_bf16 amx_tile", "mixed_bfloat16"),
])
def test_native_takes_bfloat16_only_on_cpus_that_compute_it(cpuinfo, extra, policy):
    cpuinfo(EPYC_FLAGS + extra)
    assert precision.dtype_policy("native") == policy
    assert precision.dtype_policy("on") == "mixed_bfloat16"
    assert precision.dtype_policy("off") == "float32"


def test_native_is_float32_where_the_cpu_flags_cannot_be_read(cpuinfo):
    # cpuinfo() never called: no such file, as on macOS or Windows
    assert precision.cpu_flags() == frozenset()
    assert precision.dtype_policy("native") == "float32"


def test_this_machines_flags_are_what_grep_finds():
    found = subprocess.run(["grep", "-m1", "-oE", r"\bavx512_bf16\b|\bamx_bf16\b",
                            "/proc/cpuinfo"], capture_output=True, text=True).stdout.strip()
    expected = "mixed_bfloat16" if found else "float32"
    assert precision.dtype_policy("native") == expected


def test_an_unknown_mode_is_named():
    with pytest.raises(ValueError, match=r"Unknown mixed_precision 'bf16'; use one of"):
        precision.dtype_policy("bf16")
    with pytest.raises(ValueError, match=r"Setting mixed_precision must be one of "
                                         r"\('off', 'on', 'native'\), got 'bf16'\.$"):
        TrainConfig.from_dict({"mixed_precision": "bf16"})
    # A config written when the setting was a switch: the error says what it takes now.
    with pytest.raises(ValueError, match=r"must be a string, got True: off \(float32\), on "):
        TrainConfig.from_dict({"mixed_precision": True})


def test_a_float32_run_after_a_mixed_one_is_float32(tmp_path, capsys):
    mixed = prepare_run(TrainConfig.from_dict({"mixed_precision": "on", "seed": 1}),
                        "classification", default_dir=str(tmp_path / "a"))
    assert (mixed.dtype_policy, keras.config.dtype_policy().name) == ("mixed_bfloat16",) * 2
    plain = prepare_run(TrainConfig.from_dict({"seed": 1}), "classification",
                        default_dir=str(tmp_path / "b"))
    assert (plain.dtype_policy, keras.config.dtype_policy().name) == ("float32",) * 2
    plain.claim()
    assert f"Starting the run in {plain.path} (float32)" in capsys.readouterr().out
