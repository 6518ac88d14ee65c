"""`plotting.slope_search`: the figure of a slope search, and its checks of what it draws."""

import keras
import pytest

from keras_prelu import plotting

LINES = {"PReLU channel-wise": (0.078, 0.24), "PReLU channel-shared": (0.079, 0.27)}
POINTS = {"ReLU (slope 0)": (0.0, 0.083)}


def draw(path, **changes):
    arguments = {"slopes": [0.1, 0.5, 0.9], "values": [0.081, 0.084, 0.09],
                 "reference_lines": LINES, "reference_points": POINTS, "best": (0.1, 0.081),
                 "title": "LReLU slope search", "ylabel": "validation top-1 error", **changes}
    return plotting.slope_search(path, **arguments)


def test_every_variant_is_a_png_of_the_shared_style(tmp_path):
    for name, changes in {
        "plain": {},
        "learning_rates": {"learning_rates": [0.003, 0.01, 0.03]},
        "hyperband": {"short_runs": [(0.3, 0.2), (0.7, 0.25)]},
        "failures": {"failed_slopes": [0.95, 0.99], "best": None},
        "loss": {"values": [0.31, 0.35, 0.42], "percent": False, "ylabel": "validation loss",
                 "reference_lines": {"PReLU": (0.3, None)}, "reference_points": {}},
    }.items():
        path = draw(tmp_path / f"{name}.png", **changes)
        assert path == tmp_path / f"{name}.png"
        assert keras.utils.load_img(path).size == (1200, 825)  # 8 x 5.5 inches at 150 dpi


@pytest.mark.parametrize(("changes", "message"), [
    ({"values": [0.081, 0.084]}, r"slopes and values must be two lists of one length"),
    ({"slopes": [0.1, 0.5, 1.2]}, r"Slopes must be in \[0, 1\], got \[1\.2\]"),
    ({"failed_slopes": [-0.1]}, r"Slopes must be in \[0, 1\], got \[-0\.1\]"),
    ({"values": [0.081, float("nan"), 0.09]}, r"Values must be finite numbers"),
    ({"learning_rates": [0.01]}, r"learning_rates needs one rate per slope: 1 for 3"),
])
def test_what_cannot_be_drawn_is_an_error_and_no_file(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        draw(tmp_path / "slopes.png", **changes)
    assert not (tmp_path / "slopes.png").exists()
