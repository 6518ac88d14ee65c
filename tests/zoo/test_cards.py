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


def test_model_c_card_states_its_exact_parameter_counts(full_size):
    # The full-size model C, built with no arguments (channel-wise PReLU), against its card;
    # its ReLU count is that of its conv and fc layers.
    built = full_size["model_c"]
    assert card_value("model_c", "parameters, prelu (default)") == (
        f"{built.params:,} (+{built.slopes:,} slopes)"
    )
    assert card_value("model_c", "parameters, relu") == f"{built.complexity.params:,}"
    assert built.params > 3e8


def test_cards_state_table3_beside_ours(full_size):
    for name, reported in {"model_a": "1.90e10", "model_c": "5.30e10"}.items():
        ours = full_size[name].complexity.macs
        row = card_value(name, "multiply-adds at 224×224, conv + fc")
        assert row == f"{ours / 1e10:.3f}e10"
        text = (ZOO / f"{name}.md").read_text(encoding="utf-8")
        assert f"{reported} (Table 3)" in text
    assert card_value("small14", "minimum input") == '77 px; stem="small": 12 px'


def test_cards_state_the_default_activation():
    for name in zoo.names():
        text = (ZOO / f"{name}.md").read_text(encoding="utf-8")
        default = "channel-wise PReLU" if zoo.record(name).activation == "prelu" else "ReLU"
        assert f"Defaults: {default}, He initialisation (Eqn 14)" in text
        assert f"| parameters, {zoo.record(name).activation} (default) |" in text


def test_card_extras_come_from_the_records():
    # VGG's own head (keras.applications.VGG19's parameter count), Table 1's slopes, and
    # the plain family.
    assert card_value("vgg19", 'head="flatten" (VGG\'s own), at 224×224').endswith(
        "143,667,240 parameters"
    )
    small14 = (ZOO / "small14.md").read_text(encoding="utf-8")
    assert "## Learned PReLU slopes (Table 1)" in small14
    assert "| conv2_4 | 0.561 | 0.464 |" in small14
    family = 'The plain family: `keras_prelu.zoo.get("plain<depth>")` is `plain(depth)`'
    assert family in (ZOO / "plain30.md").read_text(encoding="utf-8")
    assert family in (ZOO / "README.md").read_text(encoding="utf-8")
    for name in ("model_a", "vgg19"):
        assert "Learned PReLU slopes" not in (ZOO / f"{name}.md").read_text(encoding="utf-8")
