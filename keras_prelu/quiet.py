"""TensorFlow's C++ start-up messages, kept out of the user's way unless asked for.

TensorFlow prints notices when it loads and when it looks for GPUs ("Could not find cuda
drivers", "failed call to cuInit", oneDNN notices, absl's "All log messages before
absl::InitializeLog()"), which read like errors on a CPU-only machine. Importing
keras_prelu loads TensorFlow with those lines filtered out (anything else it prints
still shows) and its C++ log level at 2 (errors only). A user who sets
`TF_CPP_MIN_LOG_LEVEL` themselves (0 shows everything) gets TensorFlow's output as is.
"""

import importlib.util
import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"All log messages before absl::InitializeLog|cudart_stub|cuda_(platform|dnn|fft|blas)"
    r"|cuInit|oneDNN custom operations|computation_placer|Unable to register cu"
    r"|TF-TRT Warning|This TensorFlow binary is optimized|rebuild TensorFlow with"
)


def quiet_tensorflow():
    """Loads TensorFlow (when it is Keras's backend) without its start-up noise."""
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    if importlib.util.find_spec("tensorflow") is None:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the GPU probe, which logs cuInit's failure
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not NOISE.search(line):
                    sys.stderr.write(line)
