"""keras-tuner's RandomSearch, BayesianOptimization and Hyperband, each execution a run.

keras-tuner builds a trial's model, then fits it; a run of the run machinery must be
prepared first (its seed fixes the initial weights, its precision policy must be set when
the layers are made, and keras-tuner's fresh Keras session before each build would reset
that policy), and each execution needs a directory of its own. These tuners keep
keras-tuner's search, trials, callbacks and distributed mode, and run each execution with
`LReLUSlopeHyperModel.train_run` in `<project>/trial_<id>/execution<k>`:

- an interrupted search resumes (overwrite=False): finished trials are not run again, the
  interrupted one resumes from its last checkpoint (keras-tuner retries it);
- `distribution_strategy` is each run's strategy (e.g. MirroredStrategy over local GPUs);
- Hyperband's continued trials resume the trial they continue from its last checkpoint,
  so a trial of n epochs is the first n epochs of the full run.
"""

from pathlib import Path

import keras_tuner

# Keyword arguments keras-tuner passes on for Keras's fit: search()'s verbose (which also
# sets the oracle's display) and Hyperband's epochs. A run's verbosity and epochs come from
# its settings instead (`LReLUSlopeHyperModel.trial_config`).
_FIT_KWARGS = ("verbose", "epochs", "initial_epoch")


class _RunsExecutions:
    """Mixed into a keras-tuner Tuner: each execution of a trial is one `train_run`."""

    def run_trial(self, trial, *args, **kwargs):
        self._execution = 0  # keras-tuner's run_trial calls _build_and_fit_model per execution
        return super().run_trial(trial, *args, **kwargs)

    def _build_and_fit_model(self, trial, *args, **kwargs):
        callbacks = kwargs.pop("callbacks")
        for name in _FIT_KWARGS:
            kwargs.pop(name, None)
        if args or kwargs:
            raise keras_tuner.errors.FatalTypeError(
                "search() takes only callbacks: each run reads its training config's dataset; "
                f"got {len(args)} positional argument(s) and {sorted(kwargs)}.")
        execution, self._execution = self._execution, self._execution + 1
        hp = trial.hyperparameters
        past = hp.values.get("tuner/trial_id")
        start_from = None if past is None else self.execution_dir(past, execution)
        config = self.hypermodel.trial_config(hp, self.execution_dir(trial.trial_id, execution),
                                              execution)
        return self.hypermodel.train_run(config, hp, strategy=self.distribution_strategy,
                                         callbacks=callbacks, start_from=start_from)

    def execution_dir(self, trial_id, execution):
        """The run directory of execution `execution` of trial `trial_id`."""
        return Path(self.get_trial_dir(trial_id)) / f"execution{execution}"


class RandomSearch(_RunsExecutions, keras_tuner.RandomSearch):
    """keras-tuner's RandomSearch; each execution a run (see the module)."""


class BayesianOptimization(_RunsExecutions, keras_tuner.BayesianOptimization):
    """keras-tuner's BayesianOptimization; each execution a run (see the module)."""


class Hyperband(_RunsExecutions, keras_tuner.Hyperband):
    """keras-tuner's Hyperband; each execution a run, continued trials resumed (see the
    module)."""


TUNER_CLASSES = {"random": RandomSearch, "bayesian": BayesianOptimization, "hyperband": Hyperband}
