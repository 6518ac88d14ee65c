"""The strategy a test runner trains under: the process's CPU split into logical devices.

Logical devices must be set before TensorFlow creates any, so the runners call this first.
"""

import tensorflow as tf


def cpu_strategy(replicas):
    """A MirroredStrategy over `replicas` logical CPU devices, or None for one replica."""
    if replicas == 1:
        return None
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])
