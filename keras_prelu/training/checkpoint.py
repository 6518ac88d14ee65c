"""Fault-tolerant training state: saved atomically every N steps, restored on restart.

A checkpoint holds every model variable (weights and the dropout RNG state), every
optimizer variable (the step count and momenta) and the learning-rate schedule's state.
`tf.train.CheckpointManager` writes the new files first and then replaces the small
`checkpoint` index with an atomic rename, so a run killed at any moment, even mid-write,
leaves the previous checkpoint intact and the next run resumes from it.
"""

import os
import shutil

import tensorflow as tf


def is_chief(strategy):
    """Whether this worker keeps checkpoints and final files: on one machine, always; in a
    cluster, the "chief" task or else worker 0 (TF_CONFIG's convention)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster


class TrainingCheckpoint:
    """Saves and restores a run's full state under `directory`.

    Under MultiWorkerMirroredStrategy every worker takes part in each save (the values
    are gathered collectively), but only the chief's copy is kept: the others write to a
    scratch folder and delete it. `directory` must then be shared by all workers.

    Args:
        directory: where the checkpoints go (created if needed).
        model: a compiled Keras model whose optimizer is built.
        schedule_variables: extra `tf.Variable`s to save (the schedule's state).
        strategy: the run's `tf.distribute.Strategy`.
        keep: how many recent checkpoints to keep.
    """

    def __init__(self, directory, model, schedule_variables, strategy, keep=2):
        self.directory = directory
        self.chief = is_chief(strategy)
        self.write_directory = directory if self.chief else os.path.join(
            directory, f".worker-{strategy.cluster_resolver.task_id}")
        checkpoint = tf.train.Checkpoint(
            model=[v.value for v in model.variables],
            optimizer=[v.value for v in model.optimizer.variables],
            schedule=list(schedule_variables),
        )
        self.manager = tf.train.CheckpointManager(checkpoint, self.write_directory, keep)
        self.checkpoint = checkpoint
        self.optimizer = model.optimizer
        self.weights = [v.value for v in model.trainable_variables]

    def restore(self):
        """Loads the latest checkpoint, if any; returns the optimizer step it was taken at."""
        latest = tf.train.latest_checkpoint(self.directory)
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        return int(self.optimizer.iterations.numpy())

    def save(self):
        """Saves the state at the current step, unless diverged weights would replace good ones.

        Raises:
            FloatingPointError: a weight is NaN or infinite; nothing is written.
        """
        step = int(self.optimizer.iterations.numpy())
        if self.manager.latest_checkpoint and self.manager.latest_checkpoint.endswith(
                f"-{step}"):
            return
        if not bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(w)) for w in self.weights])):
            raise FloatingPointError(
                f"Training diverged: weights are NaN or infinite at step {step}, so no "
                "checkpoint was written. Rerun with a lower learning rate (--learning-rates) "
                "to resume from the last checkpoint."
            )
        self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self.write_directory, ignore_errors=True)

