"""Preparing a run: strategy, seed, determinism, precision, and its output directory.

Every task (classification, detection, a tuning trial) prepares its run here, then
builds and compiles its model in `run.strategy.scope()`, claims the directory once its
setup is known to be valid, and trains with `fit_epochs`.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.python.framework import config as tf_config  # disable_op_determinism

from keras_prelu.data.order import draw_seed
from keras_prelu.training import run_directory
from keras_prelu.training.checkpoint import is_chief
from keras_prelu.training.multi_worker import patch_keras_for_multi_worker
from keras_prelu.training.precision import dtype_policy
from keras_prelu.training.run_directory import RunDirectory
from keras_prelu.training.strategy import choose_strategy, per_replica_batch_size


@dataclasses.dataclass
class Run:
    """A prepared run.

    Attributes:
        settings: the task's settings (a `RunSettings` subclass).
        task: the kind of run, e.g. "classification".
        strategy: its `tf.distribute.Strategy`.
        chief: whether this worker writes the run's files (always, on one machine).
        seed: the run's seed (the configured one, or one drawn once and recorded).
        directory: its `RunDirectory`.
        dtype_policy: the Keras dtype policy it computes in (`keras_prelu.training.precision`).
    """

    settings: object
    task: str
    strategy: tf.distribute.Strategy
    chief: bool
    seed: int
    directory: RunDirectory
    dtype_policy: str

    @property
    def path(self):
        """The output directory."""
        return self.directory.path

    @property
    def finished(self):
        """The results recorded by an earlier, finished invocation of this run, or None."""
        return self.directory.finished

    def claim(self):
        """Records the run in its directory (see `RunDirectory.claim`); chief only."""
        print(f"{'Resuming' if self.directory.resuming else 'Starting'} the run in {self.path} "
              f"({self.dtype_policy})", flush=True)
        if self.chief:
            self.directory.claim(self.seed, {"task": self.task, **self.settings.to_dict()})

    def write_json(self, name, values):
        if self.chief:
            run_directory.write_json(self.path / name, values)

    def write_text(self, name, text):
        if self.chief:
            run_directory.write_text(self.path / name, text)

    def save_array(self, name, array):
        if self.chief:
            run_directory.save_array(self.path / name, array)

    def save_model(self, model, name="model.keras"):
        if self.chief:
            run_directory.save_model(self.path / name, model)

    def write_figure(self, name, plot):
        """Writes the PNG `name` by `plot(path)` (a `keras_prelu.plotting` function),
        atomically; chief only. Returns its final path."""
        if self.chief:
            run_directory.write_atomically(self.path / name, plot)
        return self.path / name

    def finish(self, results):
        """Records the results: the run is finished, and rerunning it trains nothing."""
        if self.chief:
            self.write_json("results.json", results)
            self.directory.record_results(results)


def default_output_dir(task, settings, *names):
    """runs/<task>-<names...>-<8 hex digits of the settings' identity>."""
    digest = hashlib.sha1(
        json.dumps(settings.identity(), sort_keys=True).encode()).hexdigest()[:8]
    return str(Path("runs") / "-".join([task, *map(str, names), digest]))


def prepare_run(settings, task, *, default_dir, strategy=None):
    """Prepares a run; writes nothing.

    Checks the global batch against the replicas and the output directory against the
    run (a directory holding another run is refused unless `settings.start_over`), then
    seeds every random generator, enables deterministic kernels if asked to and sets the
    precision policy.

    Args:
        settings: the task's settings (a `RunSettings` subclass).
        task: the kind of run, part of its identity.
        default_dir: the output directory when `settings.output_dir` is None.
        strategy: a `tf.distribute.Strategy`; default `choose_strategy()`.

    Returns:
        A `Run`.

    Raises:
        ValueError: a global batch that does not split among the replicas.
        RunDirectoryError: the output directory holds another run.
    """
    strategy = strategy or choose_strategy()
    per_replica_batch_size(settings.global_batch_size, strategy)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        patch_keras_for_multi_worker()
    chief = is_chief(strategy)
    directory = RunDirectory(settings.output_dir or default_dir, task, settings.identity(),
                             start_over=settings.start_over)
    seed = settings.seed
    if seed is None:
        seed = directory.seed if directory.resuming else _agree(strategy, draw_seed())
    keras.utils.set_random_seed(seed)  # initial weights, dropout masks, data order
    # Determinism is process-wide: set it both ways, so that a run after a deterministic
    # one in the same process (a notebook, a search) is not silently deterministic, with
    # XLA turned off.
    if settings.deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()
    # Process-wide too, so set both ways: a float32 run after a mixed one is float32.
    policy = dtype_policy(settings.mixed_precision)
    keras.config.set_dtype_policy(policy)
    return Run(settings, task, strategy, chief, seed, directory, policy)


def _agree(strategy, value):
    """The chief's `value` on every worker: drawn seeds must be the same everywhere."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return value

    def contribution():
        # Only the first replica of the chief adds its value to the sum.
        first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
        return tf.where(first, tf.constant(value, tf.int64), tf.constant(0, tf.int64))

    return int(strategy.reduce("SUM", strategy.run(contribution), axis=None))
