"""The tf.distribute strategy for a run (Sec. 3, "Multi-GPU Implementation").

The paper trains data-parallel on 4-8 GPUs with the global mini-batch of 128 split among
them (it keeps the fc layers on one GPU, a Caffe implementation detail; synchronous data
parallelism gives the same gradient). Here that is MirroredStrategy; on several machines,
MultiWorkerMirroredStrategy.
"""

import os

import tensorflow as tf


def choose_strategy():
    """MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster, MirroredStrategy over
    all visible GPUs when there are several, else the default (one-device) strategy."""
    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def per_replica_batch_size(global_batch_size, strategy):
    """The batch each replica sees; the global batch must split evenly (checked up front)."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(
            f"The global batch size {global_batch_size} does not divide among "
            f"{replicas} replicas; use a multiple of {replicas} (the paper: 128)."
        )
    return global_batch_size // replicas
