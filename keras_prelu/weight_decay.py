"""The paper's weight decay (5e-4, Sec. 3) on conv and fc kernels only.

Sec. 2.1: the PReLU slopes get no weight decay, since decay pushes them to zero and so
PReLU toward ReLU. Biases get none either (Caffe's usual `decay_mult: 0`).

Two optimizer styles, one rule (decay exactly the conv/fc kernels):

- coupled L2, as Caffe and the paper: give each conv/fc layer
  `kernel_regularizer=KernelDecay(5e-4)`. The zoo's builders do this for you
  (`weight_decay=5e-4`).
- decoupled decay, for Keras optimizers built with `weight_decay=...` (AdamW,
  `SGD(weight_decay=...)`): call `decay_kernels_only(optimizer, model)` before training.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_prelu")
class KernelDecay(keras.regularizers.Regularizer):
    """Caffe's weight decay: adds `rate * W` to the gradient of W.

    That is a penalty of `rate / 2 * sum(W**2)` on the loss; note that
    `keras.regularizers.L2(l2)` adds `l2 * sum(W**2)`, i.e. a gradient of `2 * l2 * W`.

    Args:
        rate: the weight decay, 5e-4 in the paper (Sec. 3).

    Example:

    >>> conv = keras.layers.Conv2D(64, 3, kernel_regularizer=KernelDecay(5e-4))

    Reference:

    - [He et al., 2015](https://arxiv.org/abs/1502.01852)
    """

    def __init__(self, rate=5e-4):
        if not rate >= 0:
            raise ValueError(f"KernelDecay: rate must be >= 0, got {rate}.")
        self.rate = float(rate)

    def __call__(self, x):
        return 0.5 * self.rate * ops.sum(ops.square(x))

    def get_config(self):
        return {"rate": self.rate}


KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def decayed_kernels(model):
    """The conv and fc kernels of `model`: the variables the paper decays."""
    return [layer.kernel for layer in _layers(model) if isinstance(layer, KERNEL_LAYERS)]


def decay_kernels_only(optimizer, model):
    """Restricts an optimizer's decoupled `weight_decay` to the conv/fc kernels of `model`.

    Everything else, PReLU slopes and biases included, is excluded. Call it before the
    optimizer is built (before the first `fit` step).
    """
    kernels = {id(kernel) for kernel in decayed_kernels(model)}
    optimizer.exclude_from_weight_decay(
        var_list=[v for v in model.trainable_variables if id(v) not in kernels]
    )
    return optimizer
