"""The committed README block and plots are what the committed results JSON make now."""

from pathlib import Path

import numpy as np
from PIL import Image

from keras_prelu import experiments
from keras_prelu.experiments import report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
README = ROOT / "README.md"


def committed():
    return {name: results for name in experiments.NAMES
            if (results := experiments.load_results(RESULTS, name)) is not None}


def test_every_experiment_has_committed_full_results():
    results = committed()
    assert sorted(results) == sorted(experiments.NAMES)
    assert not any(r["quick"] for r in results.values()), "quick results committed"
    for name, r in results.items():
        # The results are those of the committed configs (else: run `make reproduce`).
        assert r["settings"] == experiments.results_identity(
            name, experiments.settings_of(name)), name


def test_summaries_are_those_of_the_measurements():
    for name, results in committed().items():
        assert experiments.derived(results) == results, (
            f"results/{name}.json: stale summary; run `python recipes/reproduce.py` (it "
            "trains nothing when the results are current)")


def test_readme_block_is_current():
    assert report.committed_block(README) == report.readme_block(RESULTS, README), (
        "stale README Reproduction block: run `python recipes/reproduce.py`")


def test_plots_are_current(tmp_path):
    stale = []
    for results in committed().values():
        for path in experiments.plot(results, tmp_path):
            with Image.open(path) as fresh, Image.open(RESULTS / path.name) as kept:
                if fresh.size != kept.size or not np.array_equal(
                        np.asarray(fresh.convert("RGBA")), np.asarray(kept.convert("RGBA"))):
                    stale.append(path.name)
    assert not stale, (f"plots {stale} differ from what their JSON draws: run "
                       "`python recipes/reproduce.py`")
