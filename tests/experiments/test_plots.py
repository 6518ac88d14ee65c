"""The reproduction's figures (keras_prelu.plotting.curve_panels, seed_comparison): size,
determinism (the committed plots are compared pixel by pixel) and one error per bad input."""

import numpy as np
import pytest
from PIL import Image

from keras_prelu import plotting

WIDTH_PX = 1200  # 8 inches at 150 dpi


def pixels(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def panels():
    he = plotting.Curve("He", [0.1, 0.2, 0.3], [80.0, 40.0, 20.0], "C3")
    xavier = plotting.Curve("Xavier", [0.1, 0.2, 0.3], [90.0, 90.0, 89.0], "C0", linestyle=":")
    stds = plotting.Curve("std", None, [1.0, 1e-9, 0.0], "C2", yerr=[0.1, 0.0, 0.0])
    return [plotting.Panel("a", (he, xavier), hlines=((90, "chance"),)),
            plotting.Panel("b", (stds,), xticklabels=("conv1", "conv2", "fc1"))]


def test_curve_panels_draw_the_same_pixels_every_time(tmp_path):
    # A zero on a log axis (an underflowed std) is left out, not an error.
    first = plotting.curve_panels(panels(), tmp_path / "a.png", title="t", xlabel="x (s)",
                                  ylabel="y (%)", log_y=True, height=5.0)
    second = plotting.curve_panels(panels(), tmp_path / "b.png", title="t", xlabel="x (s)",
                                   ylabel="y (%)", log_y=True, height=5.0)
    image = pixels(first)
    assert image.shape == (750, WIDTH_PX, 3)
    assert image.std() > 10
    np.testing.assert_array_equal(image, pixels(second))
    other = plotting.curve_panels(panels()[:1], tmp_path / "c.png", title="t", xlabel="x (s)",
                                  ylabel="y (%)", height=5.0)
    assert not np.array_equal(image, pixels(other))


@pytest.mark.parametrize("bad, message", [
    (lambda p: [plotting.Panel("a", (plotting.Curve("c", [1, 2], [1, 2, 3]),))],
     "2 x values for 3 y values"),
    (lambda p: [plotting.Panel("a", (plotting.Curve("c", None, [1, 2, 3]),),
                               xticklabels=("x",))], "3 points but 1 xticklabels"),
    (lambda p: [plotting.Panel("a", (plotting.Curve("c", None, [None, None]),))],
     "no finite y value"),
    (lambda p: [plotting.Panel("a", ((1, 2),))], "curves must be plotting.Curve"),
    (lambda p: [], "at least one panel"),
    (lambda p: p * 2, "4 panels do not fit 1 x 3"),
])
def test_curve_panels_refuse_bad_input_before_writing(tmp_path, bad, message):
    path = tmp_path / "bad.png"
    with pytest.raises(ValueError, match=message):
        plotting.curve_panels(bad(panels()), path, title="t", xlabel="x", ylabel="y",
                              ncols=3 if message.startswith("4 panels") else None)
    assert not path.exists()


def test_seed_comparison(tmp_path):
    path = plotting.seed_comparison(
        ["ReLU", "PReLU"], [[20.1, 20.7, 19.9], [14.6, 15.0, 14.2]], tmp_path / "t2.png",
        reference=[33.82, 32.64], title="Table 2", xlabel="activation", ylabel="error (%)",
        reference_label="Table 2")
    assert pixels(path).shape == (720, WIDTH_PX, 3)
    for values, message in (([[1.0, 2.0], [1.0]], "same number of seeds, at least 2"),
                            ([[1.0], [2.0]], "same number of seeds, at least 2"),
                            ([[1.0, float("nan")], [1.0, 2.0]], "finite")):
        with pytest.raises(ValueError, match=message):
            plotting.seed_comparison(["a", "b"], values, tmp_path / "x.png", reference=[1, 2],
                                     title="t", xlabel="x", ylabel="y", reference_label="r")
    with pytest.raises(ValueError, match="baseline=2"):
        plotting.seed_comparison(["a", "b"], [[1, 2], [1, 2]], tmp_path / "x.png",
                                 reference=[None, None], title="t", xlabel="x", ylabel="y",
                                 reference_label="r", baseline=2)
    assert not (tmp_path / "x.png").exists()
