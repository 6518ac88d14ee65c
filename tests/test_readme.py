"""Every command the README shows runs as documented (issue 12).

The shell blocks' commands are run from a scratch directory that links the repository's
`recipes/`, so nothing they might write lands in the repository. Commands that need data
this machine does not have (ImageNet, the official VOC files, a trained model) must get as
far as finding that out: one line naming what is missing, no usage error, no traceback,
nothing written. `make` targets must exist (`make -n`); what they run is tested where
their recipes are. The Python block runs against a model saved where it expects one.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# A command whose environment names other machines, tested in the shape it has here:
# tests/training/test_distributed.py and tests/tuning/test_distributed.py run the same
# recipes with TF_CONFIG and keras-tuner's variables on 127.0.0.1.
OTHER_MACHINES = ("TF_CONFIG=", "KERASTUNER_")
USAGE_ERRORS = ("usage:", "unrecognized arguments", "invalid choice", "Traceback",
                "expected one argument")


def blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def shell_commands():
    commands = []
    for block in blocks("sh"):
        text = re.sub(r"\\\n\s*", " ", block)  # join continued lines
        pending = ""
        for line in text.splitlines():
            pending += line + "\n"
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quotation that goes on on the next line
                continue
            if words and not words[0].startswith(OTHER_MACHINES):
                commands.append(words)
            pending = ""
    return commands


COMMANDS = shell_commands()
# Commands that train on this machine's data, each run (in its quick mode) by a test of its
# own: {what the command starts with: the test file that runs it}.
RUN_BY = {
    "recipes/reproduce.py --quick": "tests/experiments/test_reproduce.py",
    "recipes/reproduce.py --experiments": "tests/experiments/test_reproduce.py",
}
RECIPES = [words for words in COMMANDS if words[0] == "python" and words[1].startswith(
    "recipes/") and not any(" ".join(words[1:]).startswith(start) for start in RUN_BY)]


def test_the_readme_shows_the_quickstart_and_recipe_commands():
    assert ["make", "demo"] in COMMANDS and ["make", "test"] in COMMANDS
    assert len(RECIPES) >= 3


@pytest.mark.parametrize("start, test_file", RUN_BY.items())
def test_commands_that_train_here_are_run_by_their_tests(start, test_file):
    script, *arguments = start.split()
    source = (ROOT / test_file).read_text(encoding="utf-8")
    assert any(" ".join(w[1:]).startswith(start) for w in COMMANDS), start
    assert Path(script).name in source and all(
        Path(argument).name in source for argument in arguments), test_file


@pytest.mark.parametrize("words", [w for w in COMMANDS if w[0] == "make"], ids=" ".join)
def test_make_targets_exist(words):
    result = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("words", RECIPES, ids=" ".join)
def test_recipe_commands_parse_and_stop_at_what_is_missing(words, tmp_path):
    (tmp_path / "recipes").symlink_to(ROOT / "recipes")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TF_CONFIG", None)
    result = subprocess.run([sys.executable, *words[1:]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert not any(error in output for error in USAGE_ERRORS), output
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.returncode == 1 and len(errors) == 1, output
    # Nothing written beside the link: the run was refused before it started.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["recipes"] or (
        result.returncode == 0)


def test_the_python_block_runs(tmp_path, monkeypatch):
    from keras_prelu import zoo
    from keras_prelu.training import TrainConfig

    (code,) = blocks("python")[:1]
    # The demo's model, where the block loads it from (the same architecture).
    match = re.search(r'zoo\.get\("plain9", weights="([^"]+)",(.*?)\)\n', code, re.DOTALL)
    path, arguments = match.group(1), match.group(2)
    options = eval(f"dict({arguments})")  # the block's own keyword arguments
    demo = TrainConfig.load(ROOT / "recipes" / "configs" / "fashion_mnist.toml")
    assert {name: getattr(demo, name) for name in ("width", "stem", "fc_units", "activation")} \
        == {name: options[name] for name in ("width", "stem", "fc_units", "activation")}
    model = zoo.get("plain9", **{**options, "input_shape": (28, 28, 1)})
    (tmp_path / path).parent.mkdir(parents=True)
    model.save(tmp_path / path)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["trunk"].output.shape[-1] == namespace["spp"].input.shape[-1]
