"""A model saved with keras_prelu's layers, loaded where keras_prelu was not imported."""

import os
import subprocess
import sys

import keras_prelu.zoo as zoo

LOAD = "import keras\nkeras.models.load_model({path!r})\n"


def test_loading_without_importing_keras_prelu_names_it(tmp_path):
    model = zoo.small14(input_shape=(16, 16, 1), stem="small", width=0.125, fc_units=8,
                        spp_levels=(2, 1), classes=3)
    path = tmp_path / "model.keras"
    model.save(path)
    env = {**os.environ, "PYTHONPATH": ""}
    loaded = subprocess.run([sys.executable, "-c", LOAD.format(path=str(path))], env=env,
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert loaded.returncode != 0
    assert "keras_prelu" in loaded.stderr.splitlines()[-1]
    # Not Keras's own HeNormal, handed the paper's negative_slope.
    assert "unexpected keyword argument 'negative_slope'" not in loaded.stderr
