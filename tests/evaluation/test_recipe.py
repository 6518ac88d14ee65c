import importlib.util
import json
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
    assert result[:3] == pytest.approx(expected[:3])
    assert result.images == 360
    np.testing.assert_array_equal(result.labels, test[1])
    np.testing.assert_array_equal(result.predictions, expected.predictions)
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"model_a on digits, dense testing, 360 images: top-1 error "
        f"{expected.top1_error:.2%}, top-5 error {expected.top5_error:.2%}"
    )



@pytest.mark.parametrize("run_pad, flags, pad", [
    (3, [], 3),                    # the training run's pad, from its config.json
    (None, [], 1),                 # the run used the dataset's default (digits: 1)
    (3, ["--pad", "0"], 0),        # --pad wins
])
def test_ten_view_pads_small_images_as_the_training_crops_were(tmp_path, run_pad, flags, pad):
    keras.utils.set_random_seed(4)
    model = zoo.model_a(activation="prelu", width=1 / 16, stem="small", spp_levels=(2, 1),
                        fc_units=16, classes=10, input_shape=(None, None, 1),
                        small_fc_init=False)
    model.save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(json.dumps({"dataset": "digits", "pad": run_pad}))
    result = recipe().main([str(tmp_path / "model.keras"), "--dataset", "digits", "--method",
                            "ten_view", *flags])
    _, (images, labels) = load_digits()
    # Reference: the ten views of each zero-padded image, their softmax scores averaged.
    padded = np.pad(images, [(0, 0), (pad, pad), (pad, pad), (0, 0)]).astype("float32")
    side = images.shape[1]
    views = [padded[:, top : top + side, left : left + side]
             for top, left in ((0, 0), (0, 2 * pad), (2 * pad, 0), (2 * pad, 2 * pad),
                               (pad, pad))]
    views += [view[:, :, ::-1] for view in views]
    scores = np.mean([model(view, training=False) for view in views], axis=0)  # softmax
    assert result.top1_error == pytest.approx(np.mean(scores.argmax(axis=1) != labels))
