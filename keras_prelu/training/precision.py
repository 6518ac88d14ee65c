"""The precision a run computes in: its `mixed_precision` setting as a Keras dtype policy.

"on" is float16 on GPUs and bfloat16 on CPUs, with the variables, PReLU's slopes and the
classifier's softmax in float32 (Keras's mixed policies). "native" takes it only where
the hardware computes the half-precision type itself: a GPU of compute capability 7.0 or
more (tensor cores), a CPU with AVX512-BF16 or AMX (on Linux, read from /proc/cpuinfo).
Elsewhere bfloat16 would be emulated in software, so "native" stays float32 there.
"""

from pathlib import Path

import tensorflow as tf

MODES = ("off", "on", "native")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo's names
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags():
    """The CPU's feature flags as /proc/cpuinfo lists them; empty where there is none."""
    try:
        text = CPUINFO.read_text()
    except OSError:
        return frozenset()
    return frozenset(word for line in text.splitlines() if line.startswith("flags")
                     for word in line.partition(":")[2].split())


def dtype_policy(mode):
    """The Keras dtype policy name for `mixed_precision=mode` on this machine.

    Raises:
        ValueError: a mode that is not one of `MODES`.
    """
    if mode not in MODES:
        raise ValueError(f"Unknown mixed_precision {mode!r}; use one of {MODES}.")
    if mode == "off":
        return "float32"
    gpus = tf.config.list_physical_devices("GPU")
    if mode == "on":
        return "mixed_float16" if gpus else "mixed_bfloat16"
    if gpus:
        capabilities = [tf.config.experimental.get_device_details(gpu).get("compute_capability")
                        for gpu in gpus]
        return "mixed_float16" if all(c and c >= (7, 0) for c in capabilities) else "float32"
    return "float32" if cpu_flags().isdisjoint(BF16_CPU_FLAGS) else "mixed_bfloat16"
