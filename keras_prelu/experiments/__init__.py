"""The paper's findings reproduced at a small scale: five experiments, their results as
JSON, their plots drawn from the JSON, and the README's Reproduction section written from it.

| experiment | the paper's | module |
| --- | --- | --- |
| variance | Sec. 2.2, Eqns 9 and 13: the signal at initialisation | `variance` |
| init | Sec. 2.2, Figures 2 and 3: He vs "Xavier" on the 22- and 30-layer nets | `initialisation` |
| activations | Table 2: ReLU, LReLU and PReLU on the 14-layer model | `activations` |
| slopes | Table 1: the learned PReLU slopes (from the activations' runs) | `slopes` |
| convergence | Figure 4: model A with ReLU and PReLU | `convergence` |

Each experiment is a module with the same parts: `NAME`, `TITLE`, `KIND` ("training" or
"measurement", for the time estimates), `Settings` (a `keras_prelu.settings.Settings`; a
trained experiment's derive from `common.TrainedExperiment`), `prepare(settings,
runs_dir)` (every check, before anything is written), `describe`, `plan` (multiply-adds),
`run` (the measurements), `derive` (the summary, from the measurements alone),
`figures`/`plot` (the PNGs, from the results), `report` (its README part) and
`card_tables` (the model cards' measured tables). Its settings come from
`recipes/configs/reproduce_<name>.toml` (the slopes have none).

`reproduce(...)` (what `recipes/reproduce.py` and `make reproduce` run) checks every
setting and run first, then runs the experiments in order, skipping those whose results
are already written for the same settings; an interrupted one resumes
(its finished runs are read back, its unfinished run resumes from its checkpoint). Then,
for every experiment, finished now or before, it recomputes the summary from the
measurements (`derive`), redraws the plots from the results and rewrites the README
block: rerunning it after a change to a summary, a plot or a report trains nothing.

>>> from keras_prelu import experiments
>>> experiments.reproduce(quick=True, results_dir="/tmp/r", runs_dir="/tmp/runs", readme=None)
"""

import json
from pathlib import Path

from keras_prelu.experiments import (
    activations,
    common,
    convergence,
    initialisation,
    slopes,
    variance,
)
from keras_prelu.experiments.report import card_tables, check_readme, readme_block, write_readme
from keras_prelu.training.callbacks import format_duration
from keras_prelu.training.run_directory import write_json

EXPERIMENTS = {module.NAME: module for module in
               (variance, initialisation, activations, slopes, convergence)}
NAMES = tuple(EXPERIMENTS)
CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "configs"

__all__ = ["EXPERIMENTS", "NAMES", "card_tables", "derived", "load_results", "plot",
           "readme_block", "reproduce", "results_identity", "settings_of", "write_readme"]


def config_path(name, configs=CONFIGS):
    """The config file of experiment `name`: `<configs>/reproduce_<name>.toml`."""
    return Path(configs) / f"reproduce_{name}.toml"


def settings_of(name, configs=CONFIGS, quick=False):
    """The settings of experiment `name`, from its config file if it has one.

    Raises:
        ValueError: an unknown experiment, or a bad setting in its file.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"Unknown experiment {name!r}; the experiments are {list(NAMES)}.")
    cls = EXPERIMENTS[name].Settings
    path = config_path(name, configs)
    settings = cls.load(path) if path.exists() else cls()
    return settings.quick() if quick and hasattr(settings, "quick") else settings


def identity(settings):
    """What defines an experiment's results: its settings, bar where and how verbosely."""
    return settings.identity() if hasattr(settings, "identity") else settings.to_dict()


def results_identity(name, settings, configs=CONFIGS, quick=False):
    """The settings' identity, with those of the experiments whose results it reads."""
    own = identity(settings)
    for source in getattr(EXPERIMENTS[name], "SOURCES", ()):
        own = {**own, source: identity(settings_of(source, configs, quick))}
    return own


def load_results(results_dir, name):
    """The results JSON of experiment `name` in `results_dir`, or None."""
    path = Path(results_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def derived(results):
    """`results` with what its experiment derives from the measurements (`derive`: the
    summary, the verdicts' facts) computed afresh."""
    return {**results, **EXPERIMENTS[results["experiment"]].derive(results)}


def plot(results, results_dir):
    """Draws experiment `results`' plots into `results_dir`; returns their paths."""
    return EXPERIMENTS[results["experiment"]].plot(results, results_dir)


def _data_facts(settings, data):
    return {"dataset": settings.dataset, "train": data.train,
            "validation": settings.validation_size, "test": data.test,
            "classes": data.classes, "image": list(data.input_shape)}


def reproduce(names=NAMES, *, configs=CONFIGS, results_dir, runs_dir, readme, quick=False,
              start_over=False):
    """Runs the experiments `names` in order (see the module docstring).

    Everything is checked before anything is written or trained: the experiments and
    their settings, the dataset, every run's model and steps, that the slopes have the
    activations' results to read, the README's markers.

    Args:
        names: experiments to run, among `NAMES`, in that order.
        configs: the folder of the `reproduce_<name>.toml` files.
        results_dir: where the results JSON and the plots go.
        runs_dir: where the training runs' directories go.
        readme: a README whose Reproduction block is rewritten at the end, or None.
        quick: the quick mode: every experiment cut down to seconds a run
            (`TrainedExperiment.quick`, `variance.Settings.quick`).
        start_over: a run directory that holds another run is moved aside (else refused).

    Returns:
        {name: results} of the experiments run or read back.

    Raises:
        ValueError: an unknown or repeated experiment, a bad setting, a run that cannot
            start, the slopes without the activations' results, a README without the
            block's markers; raised before anything is written.
    """
    names = tuple(names)
    unknown = [name for name in names if name not in EXPERIMENTS]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"Experiments must be distinct names among {list(NAMES)}, got "
                         f"{list(names)}.")
    names = tuple(name for name in NAMES if name in names)
    results_dir, runs_dir = Path(results_dir), Path(runs_dir)
    settings = {name: settings_of(name, configs, quick) for name in names}
    if start_over:
        settings = {name: s.replace(start_over=True) if hasattr(s, "start_over") else s
                    for name, s in settings.items()}
    identities = {name: results_identity(name, settings[name], configs, quick) for name in names}
    finished = {}
    for name in names:
        existing = load_results(results_dir, name)
        if (existing is not None and existing["settings"] == identities[name]
                and existing["quick"] == quick):
            finished[name] = existing
    for name in names:
        for source in getattr(EXPERIMENTS[name], "SOURCES", ()):
            existing = load_results(results_dir, source)
            if source not in names and (existing is None or existing["settings"] != identity(
                    settings_of(source, configs, quick))):
                raise ValueError(f"The {name} experiment reads the results of {source}, "
                                 f"which {results_dir} does not hold for its settings: run "
                                 f"{source} too.")
    if readme is not None:
        check_readme(readme)
    data = {name: EXPERIMENTS[name].prepare(settings[name], runs_dir / name) for name in names}
    progress = common.Progress(
        {name: 0.0 if name in finished else EXPERIMENTS[name].plan(settings[name], data[name])
         for name in names},
        {name: EXPERIMENTS[name].KIND for name in names})
    done = {}
    for name in names:
        module = EXPERIMENTS[name]
        if name in finished:
            done[name] = derived(finished[name])
            if done[name] != finished[name]:  # a summary computed by an older version
                write_json(results_dir / f"{name}.json", done[name])
            progress.skip(name, f"finished, results in {results_dir / name}.json")
        else:
            progress.start(name, module.describe(settings[name]))
            context = common.Context(runs_dir, progress,
                                     {**done, **_other_results(results_dir, done)})
            results = module.run(settings[name], data[name], context)
            done[name] = derived({
                "experiment": name, "title": module.TITLE, "quick": quick,
                "settings": identities[name],
                **({} if data[name] is None else
                   {"data": _data_facts(settings[name], data[name])}),
                **results})
            results_dir.mkdir(parents=True, exist_ok=True)
            write_json(results_dir / f"{name}.json", done[name])
            seconds = done[name].get("wall_time_s")
            print(f"  {name} finished"
                  + ("" if seconds is None else f" in {format_duration(seconds)}")
                  + f": results in {results_dir / name}.json", flush=True)
        for path in plot(done[name], results_dir):
            print(f"  plot: {path}", flush=True)
    if readme is not None:
        write_readme(readme, results_dir)
        print(f"Rewrote the Reproduction section of {readme}.", flush=True)
    return done


def _other_results(results_dir, done):
    """Results already in `results_dir` of experiments not run now (the slopes read the
    activations' from there)."""
    return {name: results for name in NAMES if name not in done
            for results in [load_results(results_dir, name)] if results is not None}
