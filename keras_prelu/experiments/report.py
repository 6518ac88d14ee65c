"""The README's Reproduction block and the model cards' measured tables, written from the
results JSON (like the model cards from the code): a test regenerates both and fails when
a committed one is stale.
"""

import json
import os
from pathlib import Path

from keras_prelu.training.callbacks import format_duration

BEGIN = ("<!-- reproduction: written by `python recipes/reproduce.py` (`make reproduce`) from "
         "results/*.json; do not edit -->")
END = "<!-- reproduction: end -->"


def _experiments():
    from keras_prelu.experiments import EXPERIMENTS  # the modules import this one

    return EXPERIMENTS


def _all_results(results_dir):
    results = {}
    for name in _experiments():
        path = Path(results_dir) / f"{name}.json"
        if path.exists():
            results[name] = json.loads(path.read_text(encoding="utf-8"))
    return results


def readme_block(results_dir, readme):
    """The Markdown of the Reproduction block (markers included) for the results in
    `results_dir`, its figure links relative to the README `readme`.

    Raises:
        ValueError: `results_dir` holds no results.
    """
    results = _all_results(results_dir)
    if not results:
        raise ValueError(f"{results_dir} holds no experiment's results (<name>.json).")
    lines = [BEGIN, ""]
    times = [r.get("wall_time_s") for r in results.values()]
    if None not in times:
        loads = [load for r in results.values() if r.get("load_average")
                 for load in r["load_average"]]
        lines += [f"Wall time of the {len(results)} experiments, added up: "
                  f"{format_duration(sum(times))}"
                  + (f" (1-min load average {min(loads):g}-{max(loads):g} on "
                     f"{max(r['cpus'] for r in results.values())} cores)" if loads else "")
                  + ".", ""]
    experiments = _experiments()
    for name, result in results.items():
        module = experiments[name]
        figures = {path.name: Path(os.path.relpath(path, Path(readme).resolve().parent))
                   .as_posix() for path in _figure_paths(module, result, results_dir)}
        lines += [f"### {result['title']}", "", *module.report(result, figures), ""]
    lines.append(END)
    return "\n".join(lines)


def _figure_paths(module, result, results_dir):
    """The PNGs the module draws for `result`, without drawing them."""
    return [Path(results_dir).resolve() / name for name in module.figures(result)]


def check_readme(readme):
    """Returns the text of `readme`, which must hold the block's markers.

    Raises:
        ValueError: the README is missing or lacks the markers (add them where the block
            goes).
    """
    readme = Path(readme)
    if not readme.is_file():
        raise ValueError(f"{readme} is not a file: give the README whose Reproduction block "
                         "is rewritten.")
    text = readme.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{readme} must hold the lines {BEGIN!r} and {END!r} once each, in "
                         "that order: the Reproduction block goes between them.")
    return text


def write_readme(readme, results_dir):
    """Replaces the block between `BEGIN` and `END` in `readme` with `readme_block`.

    Raises:
        ValueError: the README lacks the markers (`check_readme`), or `results_dir` holds
            no results.
    """
    text = check_readme(readme)
    before, rest = text.split(BEGIN)
    after = rest.split(END)[1]
    Path(readme).write_text(before + readme_block(results_dir, readme) + after,
                            encoding="utf-8")


def committed_block(readme):
    """The Reproduction block as it is in `readme` (markers included), or None."""
    text = Path(readme).read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        return None
    return BEGIN + text.split(BEGIN)[1].split(END)[0] + END


def card_tables(results_dir):
    """{model name: [CardTable, ...]}: every experiment's measured tables for the model
    cards, from the results in `results_dir` (none if it holds none)."""
    tables = {}
    experiments = _experiments()
    for name, result in _all_results(results_dir).items():
        for model, model_tables in experiments[name].card_tables(result).items():
            tables.setdefault(model, []).extend(model_tables)
    return tables
