"""keras-prelu: "Delving Deep into Rectifiers" (He et al., ICCV 2015) for Keras 3.

Importing the package registers its layers, initializer and regularizer with Keras, so
saved `.keras` models that use them reload with `keras.models.load_model(path)`.
TensorFlow's C++ start-up notices are filtered out (`keras_prelu.quiet`); set
`TF_CPP_MIN_LOG_LEVEL` to see them.
"""

from keras_prelu.quiet import quiet_tensorflow

quiet_tensorflow()

from keras_prelu import initializers, layers, metrics, weight_decay, zoo  # noqa: E402

__version__ = "0.1.0"
__all__ = ["initializers", "layers", "metrics", "weight_decay", "zoo"]
