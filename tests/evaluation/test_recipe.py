import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_prelu.zoo as zoo
from keras_prelu.data import load_digits
from keras_prelu.evaluation import evaluate

RECIPE = Path(__file__).parents[2] / "recipes" / "evaluate.py"


def recipe():
    spec = importlib.util.spec_from_file_location("evaluate_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_reloads_a_saved_model_and_prints_its_errors(tmp_path, capsys):
    keras.utils.set_random_seed(3)
    model = zoo.model_a(activation="prelu", width=1 / 16, stem="small", spp_levels=(2, 1),
                        fc_units=16, classes=10, input_shape=(None, None, 1))
    model.save(tmp_path / "model.keras")
    (images, _), test = load_digits()
    np.save(tmp_path / "mean.npy", images.mean(axis=0))
    result = recipe().main([str(tmp_path / "model.keras"), "--dataset", "digits", "--method",
                            "dense", "--mean", str(tmp_path / "mean.npy")])
    expected = evaluate(model, test, "dense", mean=images.mean(axis=0))
    assert result == pytest.approx(expected)
    assert result.images == 360
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"model_a on digits, dense testing, 360 images: top-1 error "
        f"{expected.top1_error:.2%}, top-5 error {expected.top5_error:.2%}"
    )

