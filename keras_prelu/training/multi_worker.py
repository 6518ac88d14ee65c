"""Keras 3's `fit` under MultiWorkerMirroredStrategy: two upstream bugs, worked around.

Since TensorFlow 2.16 (Keras 3), `fit` fails on several workers (keras-team/keras#20585,
tensorflow/tensorflow#72388, open as of Keras 3.15):

1. before the first step, `_maybe_symbolic_build` averages a (features, labels) batch
   across workers with `strategy.reduce`, which the collective strategy cannot do for a
   structure ("Attempt to convert a value (PerReplica...)");
2. each step's logs, scalars, are averaged across workers with `axis=0`, which a scalar
   does not have ("Invalid reduction dimension 0").

`patch_keras_for_multi_worker()` fixes both for multi-worker strategies only: the model
is then built when its train function is traced, as Keras does without a strategy, and
logs are averaged over workers with `axis=None`. Any other strategy runs Keras's code
unchanged.
"""

import tensorflow as tf
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

_KERAS_REDUCE = keras_tf_trainer.reduce_per_replica
_KERAS_SYMBOLIC_BUILD = keras_tf_trainer.TensorFlowTrainer._maybe_symbolic_build


def _multi_worker(strategy):
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def _reduce_per_replica(values, strategy, reduction):
    if _multi_worker(strategy) and reduction in ("auto", "mean"):
        return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
    return _KERAS_REDUCE(values, strategy, reduction)


def _maybe_symbolic_build(self, iterator=None, data_batch=None):
    if _multi_worker(self.distribute_strategy):
        return
    _KERAS_SYMBOLIC_BUILD(self, iterator=iterator, data_batch=data_batch)


def patch_keras_for_multi_worker():
    """Installs the two fixes (idempotent)."""
    keras_tf_trainer.reduce_per_replica = _reduce_per_replica
    keras_tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
