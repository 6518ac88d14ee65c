"""Reproduce the paper's findings at a small scale: five experiments, results and plots.

    python recipes/reproduce.py                  # `make reproduce`: all, resumable
    python recipes/reproduce.py --experiments init activations slopes
    python recipes/reproduce.py --quick --results-dir /tmp/r --runs-dir /tmp/runs

The experiments (keras_prelu.experiments): variance (Eqns 9, 13), init (Figures 2-3),
activations (Table 2), slopes (Table 1), convergence (Figure 4). Each reads its settings
from recipes/configs/reproduce_<name>.toml and writes <name>.json and its PNGs to the
results folder, then the README's Reproduction block is rewritten from every results JSON
there. Rerun the same command after an interruption: finished experiments and runs are
skipped, an unfinished run resumes from its checkpoint. Rerun it after a change to a
summary, a plot or a report: it trains nothing, and redraws the plots and the block.
"""

import dataclasses

from keras_prelu import cli, experiments
from keras_prelu.settings import Settings, setting

QUICK_DIR = "runs/reproduce-quick"


@dataclasses.dataclass(frozen=True)
class ReproduceSettings(Settings):
    experiments: tuple[str, ...] = setting(
        experiments.NAMES, f"which experiments, among {', '.join(experiments.NAMES)} (run in "
        "that order)")
    results_dir: str | None = setting(
        None, f"where the results JSON and plots go; none: results (quick: {QUICK_DIR}/results)")
    runs_dir: str | None = setting(
        None, f"where the training runs go; none: runs/reproduce (quick: {QUICK_DIR}/runs)")
    readme: str | None = setting(
        None, "the README whose Reproduction block is rewritten at the end; none: README.md "
        "(quick: no README)")
    quick: bool = setting(
        False, "every experiment cut down to seconds a run, to check the whole pipeline: "
        "training on scikit-learn's digits, 2 seeds, 2 epochs of 2 steps, 1/8 of the "
        "configured width; variance on the first model at 1/16 width, 112 px")
    start_over: bool = setting(
        False, "move aside run directories that hold other runs (else they are refused)")

    def __post_init__(self):
        super().__post_init__()
        unknown = sorted(set(self.experiments) - set(experiments.NAMES))
        if unknown or len(set(self.experiments)) != len(self.experiments):
            raise ValueError(f"Setting experiments takes distinct names among "
                             f"{experiments.NAMES}, got {self.experiments}.")

    def folders(self):
        """(results_dir, runs_dir, readme) with the mode's defaults."""
        if self.quick:
            return (self.results_dir or f"{QUICK_DIR}/results",
                    self.runs_dir or f"{QUICK_DIR}/runs", self.readme)
        return (self.results_dir or "results", self.runs_dir or "runs/reproduce",
                self.readme or "README.md")


def main(argv):
    settings = cli.parse_settings(ReproduceSettings, argv, description=__doc__.split("\n\n")[0],
                                  epilog=__doc__.split("\n\n", 1)[1])
    results_dir, runs_dir, readme = settings.folders()
    return experiments.reproduce(settings.experiments, results_dir=results_dir,
                                 runs_dir=runs_dir, readme=readme, quick=settings.quick,
                                 start_over=settings.start_over)


if __name__ == "__main__":
    cli.main(main)
