"""`recipes/reproduce.py --quick`: every experiment end to end, its outputs well formed;
a second invocation trains nothing (it redraws the plots and the README block from the
results); bad input is one error before anything is written."""

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_prelu import experiments
from keras_prelu.experiments import report
from keras_prelu.zoo import cards

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "recipes" / "reproduce.py"
WIDTH_PX = 1200  # keras_prelu.plotting: 8 inches at 150 dpi


def reproduce(*args, cwd=ROOT):
    # The quick mode takes about 3 minutes on an idle 2-core machine; the timeout leaves room
    # for a shared one (a load average of 10 makes it about 8).
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=1200)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick mode's command line, then the same run again (in this process)."""
    folder = tmp_path_factory.mktemp("quick")
    readme = folder / "README.md"
    readme.write_text(f"# A README\n\n## Reproduction\n\n{report.BEGIN}\nstale\n{report.END}\n"
                      "\n## After\n", encoding="utf-8")
    first = reproduce("--quick", "--results-dir", folder / "results", "--runs-dir",
                      folder / "runs", "--readme", readme)
    assert first.returncode == 0, first.stderr[-3000:]
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        experiments.reproduce(quick=True, results_dir=folder / "results",
                              runs_dir=folder / "runs", readme=None)
    return folder, first.stdout, again.getvalue()


def finite(value):
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_every_experiment_writes_its_results_and_plots(quick):
    folder, _, _ = quick
    results = folder / "results"
    for name, module in experiments.EXPERIMENTS.items():
        written = json.loads((results / f"{name}.json").read_text())
        assert written["experiment"] == name and written["quick"] is True
        assert written["settings"] == experiments.results_identity(
            name, experiments.settings_of(name, quick=True), quick=True)
        for png in module.figures(written):
            with Image.open(results / png) as image:
                assert image.format == "PNG" and image.size[0] == WIDTH_PX
                assert np.asarray(image.convert("L")).std() > 10  # not blank


def test_trained_experiments_record_every_run(quick):
    folder, _, _ = quick
    for name in ("init", "activations", "convergence"):
        written = json.loads((folder / "results" / f"{name}.json").read_text())
        settings = experiments.settings_of(name, quick=True)
        assert [run["name"] for run in written["runs"]] == [arm.name for arm in settings.arms()]
        for run in written["runs"]:
            assert run["steps"] == settings.epochs * settings.steps_per_epoch
            assert len(run["history"]["val_top1_error"]) == settings.epochs
            assert all(finite(v) for column in run["history"].values() for v in column)
            assert 0 <= run["test_top1_error"] <= 1
            assert run["seconds"] > 0
        assert written["wall_time_s"] == pytest.approx(
            sum(run["seconds"] for run in written["runs"]), abs=0.1)
    init = json.loads((folder / "results" / "init.json").read_text())
    for run in init["runs"]:
        assert len(run["initial"]["gradient_norms"]) == len(run["initial"]["layers"]) == 30
        assert all(finite(v) and v > 0 for v in run["initial"]["gradient_norms"])
    scores = init["initial_scores"]
    assert {(s["kernel_initializer"], s["small_fc_init"]) for s in scores} == {
        (init, small) for init in ("he_fan_out", "xavier") for small in (True, False)}


def test_the_slopes_are_the_prelu_runs_slopes(quick):
    folder, _, _ = quick
    source = json.loads((folder / "results" / "activations.json").read_text())
    summary = json.loads((folder / "results" / "slopes.json").read_text())["summary"]
    for variant in ("prelu", "prelu_shared"):
        runs = [r for r in source["runs"] if r["activation"] == variant]
        assert len(runs) == 2  # the quick mode's seeds
        for i, layer in enumerate(summary["layers"]):
            values = [r["slopes"][i][2] for r in runs]
            assert [r["slopes"][i][0] for r in runs] == [layer, layer]
            assert summary["ours"][variant][layer]["mean"] == pytest.approx(np.mean(values))
            assert summary["ours"][variant][layer]["std"] == pytest.approx(
                np.std(values, ddof=1))


def test_progress_lines_and_readme_block(quick):
    folder, first, again = quick
    for index, name in enumerate(experiments.NAMES, start=1):
        assert re.search(rf"^\[{index}/5\] {name}: .*left in all \(estimated\)$", first, re.M)
        assert re.search(rf"^\[{index}/5\] {name}: finished, results in ", again, re.M)
    assert "Starting the run" in first
    assert "Starting the run" not in again and "Resuming" not in again  # nothing trained
    assert again.count("plot:") == first.count("plot:")  # the plots, redrawn from the JSON
    text = (folder / "README.md").read_text()
    assert text.startswith("# A README\n\n## Reproduction\n\n" + report.BEGIN)
    assert text.endswith(report.END + "\n\n## After\n") and "stale" not in text
    for module in experiments.EXPERIMENTS.values():
        assert f"### {module.TITLE}" in text
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", text):
        assert (folder / link).is_file(), link


def test_bad_input_is_one_error_before_anything_is_written(tmp_path):
    config = tmp_path / "configs"
    config.mkdir()
    (config / "reproduce_init.toml").write_text('seed = 3\n')
    with pytest.raises(ValueError, match="seed is set per run by the experiment"):
        experiments.reproduce(["init"], configs=config, results_dir=tmp_path / "r",
                              runs_dir=tmp_path / "runs", readme=None)
    with pytest.raises(ValueError, match="Experiments must be distinct names among"):
        experiments.reproduce(["tables"], results_dir=tmp_path / "r",
                              runs_dir=tmp_path / "runs", readme=None)
    with pytest.raises(ValueError, match="reads the results of activations"):
        experiments.reproduce(["slopes"], results_dir=tmp_path / "r",
                              runs_dir=tmp_path / "runs", readme=None)
    (config / "reproduce_init.toml").write_text(  # stem "imagenet" needs 77 px, not 28
        'dataset = "fashion_mnist"\nstem = "imagenet"\n')
    with pytest.raises(ValueError, match="a 28x28 input is too small"):
        experiments.reproduce(["init"], configs=config, results_dir=tmp_path / "r",
                              runs_dir=tmp_path / "runs", readme=None)
    (tmp_path / "README.md").write_text("# No markers\n")
    with pytest.raises(ValueError, match="must hold the lines"):
        experiments.reproduce(["variance"], results_dir=tmp_path / "r",
                              runs_dir=tmp_path / "runs", readme=tmp_path / "README.md",
                              quick=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["README.md", "configs"]
    failed = reproduce("--experiments", "init", "tables")
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert failed.returncode == 1 and len(errors) == 1  # one line (TensorFlow may log more)
    assert errors[0].startswith("error: Setting experiments takes distinct names among")


def test_model_cards_show_the_measured_tables(quick):
    # Each results JSON's tables go to the card of its model (plain22's to its family's,
    # plain30's); the quick mode trains plain30, small14 and model_a, measures model_a.
    folder, _, _ = quick
    tables = cards.measured_tables(folder / "results")
    assert sorted(tables) == ["model_a", "plain30", "small14"]
    assert cards._card_of("plain22") == "plain30" and cards._card_of("nonet") is None
    titles = [table.title for table in tables["small14"]]
    assert titles[0].startswith("Table 2 on digits") and titles[1].startswith("Learned slopes")
    page = cards.pages(folder / "results")["small14.md"]
    assert f"### {titles[0]}" in page and "None yet." not in page
