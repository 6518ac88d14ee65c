"""The committed model cards are what the code writes now."""

import pathlib
import re
import subprocess
import sys

import keras_prelu.zoo as zoo

ZOO = pathlib.Path(__file__).resolve().parents[2] / "zoo"


def test_committed_cards_are_current(tmp_path):
    # Exactly what `make cards` runs, into a scratch folder.
    command = [sys.executable, "-m", "keras_prelu.zoo.cards", str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == sorted([*(f"{name}.md" for name in zoo.names()), "README.md"])
    committed = sorted(path.name for path in ZOO.glob("*.md"))
    assert committed == written, "zoo/ does not hold one card per model: run `make cards`"
    stale = [
        name
        for name in written
        if (ZOO / name).read_text(encoding="utf-8") != (tmp_path / name).read_text("utf-8")
    ]
    assert not stale, f"stale model cards {stale}: run `make cards` and commit zoo/"


def card_value(name, row):
    text = (ZOO / f"{name}.md").read_text(encoding="utf-8")
    return re.search(rf"^\| {re.escape(row)} \| ([^|]+) \|", text, re.MULTILINE).group(1)


def test_model_c_card_states_its_exact_parameter_count(full_size):
    # The full-size model C, built with no arguments, against its card.
    assert card_value("model_c", "parameters, ReLU") == f"{full_size['model_c'].params:,}"
    assert full_size["model_c"].params > 3e8


def test_cards_state_table3_beside_ours(full_size):
    for name, reported in {"model_a": "1.90e10", "model_c": "5.30e10"}.items():
        ours = full_size[name].complexity.macs
        row = card_value(name, "multiply-adds at 224×224, conv + fc")
        assert row == f"{ours / 1e10:.3f}e10"
        text = (ZOO / f"{name}.md").read_text(encoding="utf-8")
        assert f"{reported} (Table 3)" in text
    assert card_value("small14", "minimum input") == '77 px; stem="small": 12 px'
