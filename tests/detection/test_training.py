"""The detection task on the run machinery: settings checked up front, two replicas train
the weights one device does, the recipe's errors, and `make detect`'s quick mode end to end."""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from keras_prelu.detection.experiment import Table8Settings, markdown_table, run_table8
from keras_prelu.detection.training import DetectionConfig
from tests.detection.conftest import needs_fashion_mnist, tiny_detector

RUNNER = Path(__file__).parents[1] / "runners" / "run_detection.py"
RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "voc_fast_rcnn.py"


@pytest.mark.parametrize("changes, message", [
    ({"xla": True}, "XLA compiles a program per size"),
    ({"bg_range": [0.5, 0.1]}, "bg_range must be two IoUs"),
    ({"channels": 1, "pixel_mean": [1.0, 2.0, 3.0]}, "pixel_mean needs 1 value"),
    ({"scale": 600, "max_size": 500}, "max_size .500. must be at least scale"),
    ({"fg_fraction": 0.0}, "fg_fraction must be in"),
    ({"dataset": "coco"}, "must be one of"),
])
def test_bad_settings_are_one_clear_error(changes, message):
    with pytest.raises(ValueError, match=message):
        DetectionConfig.from_dict(changes)


def recipe():
    spec = importlib.util.spec_from_file_location("voc_fast_rcnn", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, message", [
    (["train", "--dataset", "voc"], "dataset voc needs --data-dir"),
    (["train", "--config", str(RECIPE.parents[0] / "configs" / "voc2007.toml")],
     "dataset voc needs --data-dir"),
    (["detect"], "give a command first"),
    # A missing backbone file is found before the semi-synthetic set and its proposals
    # are made (minutes of work), as the README's command would otherwise do.
    (["train", "--config", str(RECIPE.parents[0] / "configs" / "voc_semi_synthetic.toml"),
      "--backbone-weights", "no/such/model.keras"],
     "--backbone-weights no/such/model.keras is not a file"),
])
def test_the_recipe_fails_in_one_line_before_writing(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module = recipe()
        module.cli.main(module.main, [*argv, "--output-dir", str(tmp_path / "run")])
    assert exit_info.value.code not in (0, None)
    assert message in capsys.readouterr().err + str(exit_info.value.code)
    assert not (tmp_path / "run").exists()


def test_a_backbone_file_of_another_architecture_is_refused_before_writing(
        tiny_voc, tmp_path):
    from keras_prelu import zoo
    from keras_prelu.detection.training import train_detector

    other = zoo.get("plain9", input_shape=(None, None, 1), classes=10, width=0.25,
                    stem="small", fc_units=16)
    other.save(tmp_path / "other.keras")
    config = DetectionConfig.from_dict(tiny_detector(
        tiny_voc, tmp_path / "run", backbone_weights=str(tmp_path / "other.keras")))
    with pytest.raises(ValueError, match="build it with the options"):
        train_detector(config)
    assert not (tmp_path / "run").exists()


def train_in_process(config, workdir, name, cpu_replicas):
    path = Path(workdir) / f"{name}.json"
    path.write_text(json.dumps(config))
    weights = Path(workdir) / f"{name}.npz"
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(path), str(weights), "--cpu-replicas",
         str(cpu_replicas)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    with np.load(weights) as saved:
        count = len([key for key in saved.files if key.startswith("w")])
        return int(saved["steps"]), int(saved["replicas"]), [saved[f"w{i}"]
                                                             for i in range(count)]


def test_two_replicas_train_the_weights_of_one_device(tiny_voc, tmp_path):
    """Each replica takes one image of the step's two (each through the trunk alone) and
    its share of the loss; the summed gradients are one device's."""
    single = train_in_process(tiny_detector(tiny_voc, tmp_path / "single"), tmp_path,
                              "single", 1)
    mirrored = train_in_process(tiny_detector(tiny_voc, tmp_path / "mirrored"), tmp_path,
                                "mirrored", 2)
    assert single[:2] == (2, 1) and mirrored[:2] == (2, 2)
    for got, want in zip(mirrored[2], single[2], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    # And the steps changed the weights (a test that cannot fail would not).
    assert (tmp_path / "single" / "history.csv").exists()
    results = json.loads((tmp_path / "single" / "results.json").read_text())
    assert 0 <= results["map"] <= 1 and results["steps"] == 2


def test_only_the_full_experiment_writes_the_committed_results_by_default():
    assert (Table8Settings().output_dir, Table8Settings().results_dir) == (
        "runs/table8", "results/detection")
    assert (Table8Settings(quick=True).output_dir, Table8Settings(quick=True).results_dir) == (
        "runs/table8-quick", "runs/table8-quick/results")
    assert Table8Settings(quick=True, results_dir="r").results_dir == "r"


@needs_fashion_mnist
def test_the_quick_experiment_runs_every_stage_end_to_end(tmp_path):
    """Backbones on Fashion-MNIST, the semi-synthetic set, selective search, detectors from
    each backbone and from scratch, detection, VOC 2007 evaluation, the summary and figures."""
    # No results_dir: a quick run writes its summary in its own folder, never results/.
    settings = Table8Settings(quick=True, seeds=(1,), output_dir=str(tmp_path / "runs"),
                              verbose=0)
    summary = run_table8(settings)
    assert set(summary["variants"]) == {"relu", "prelu", "prelu_scratch"}
    for variant in summary["variants"].values():
        assert 0 <= variant["map"]["1"] <= 1 and 0 <= variant["proposal_recall"] <= 1
        assert math.isclose(sum(variant["errors"].values()), 1.0)
    assert [b["activation"] for b in summary["backbones"]] == ["relu", "prelu"]
    for run in summary["detectors"]:
        record = json.loads((Path(run["output_dir"]) / "run.json").read_text())
        assert record["results"]["steps"] == 2
        assert record["identity"]["backbone_weights"] == (
            None if run["variant"] == "prelu_scratch"
            else str(tmp_path / "runs" / f"backbone-{run['variant']}-seed1" / "model.keras"))
    results = tmp_path / "runs" / "results"
    assert json.loads((results / "table8.json").read_text())["variants"].keys() == \
        summary["variants"].keys()
    assert "PReLU backbone" in (results / "table8.md").read_text()
    for figure in ("detections.png", "precision_recall.png"):
        assert (results / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_committed_table8_is_the_full_experiment_and_the_readme_shows_it():
    """results/detection holds a full run (two seeds or more, not --quick) of the committed
    configs, its table is what `markdown_table` makes of its JSON, and the README shows
    that table: a rerun of `make detect` that is not copied into the README fails here."""
    root = Path(__file__).resolve().parents[2]
    results = root / "results" / "detection"
    summary = json.loads((results / "table8.json").read_text(encoding="utf-8"))
    assert not summary["settings"]["quick"] and len(summary["settings"]["seeds"]) >= 2
    detector = DetectionConfig.load(str(root / "recipes" / "configs" / "voc_semi_synthetic.toml"))
    steps = detector.epochs * detector.train_images // detector.global_batch_size
    assert [run["steps"] for run in summary["detectors"]] == [steps] * len(summary["detectors"])
    table = markdown_table(summary)
    assert (results / "table8.md").read_text(encoding="utf-8") == table + "\n"
    assert table in (root / "README.md").read_text(encoding="utf-8")
