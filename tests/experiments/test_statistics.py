"""The experiments' statistics and checks against independent references."""

import numpy as np
import pytest
from scipy import stats

from keras_prelu import paper
from keras_prelu.experiments import activations, common, slopes


def test_paired_differences_match_scipys_paired_t_test():
    rng = np.random.default_rng(0)
    baseline = rng.normal(0.10, 0.01, 5)
    other = baseline + rng.normal(-0.004, 0.002, 5)
    summary = common.paired(list(other - baseline))
    reference = stats.ttest_rel(other, baseline)
    assert summary["t"] == pytest.approx(reference.statistic, rel=1e-12)
    assert summary["mean"] == pytest.approx(np.mean(other - baseline), rel=1e-12)
    assert summary["std"] == pytest.approx(np.std(other - baseline, ddof=1), rel=1e-12)
    assert summary["negative"] == int(np.sum(other < baseline))
    assert common.paired([0.01, 0.01])["t"] is None  # no spread: no t


def _runs(errors):
    return [{"activation": activation, "seed": seed, "test_top1_error": error}
            for activation, by_seed in errors.items() for seed, error in by_seed.items()]


def test_activation_summary_pairs_by_seed_and_compares_with_the_spread():
    # Seeds listed in different orders per activation: the pairing is by seed.
    errors = {"relu": {1: 0.100, 2: 0.110, 3: 0.105},
              "prelu": {3: 0.095, 1: 0.090, 2: 0.101},
              "lrelu": {2: 0.108, 1: 0.103, 3: 0.103}}
    summary = activations.summarise(_runs(errors), ("relu", "prelu", "lrelu"))
    relu = np.array([0.100, 0.110, 0.105])
    for name, values in (("prelu", [0.090, 0.101, 0.095]), ("lrelu", [0.103, 0.108, 0.103])):
        entry = summary["activations"][name]
        np.testing.assert_allclose(entry["errors"], values)
        assert entry["std"] == pytest.approx(np.std(values, ddof=1))
        difference = entry["difference"]
        assert difference["t"] == pytest.approx(stats.ttest_rel(values, relu).statistic)
        spread = max(np.std(values, ddof=1), np.std(relu, ddof=1))
        assert difference["spread"] == pytest.approx(spread)
        assert difference["exceeds_spread"] == (abs(np.mean(np.array(values) - relu)) > spread)
    assert summary["activations"]["prelu"]["difference"]["exceeds_spread"]
    assert not summary["activations"]["lrelu"]["difference"]["exceeds_spread"]
    assert "difference" not in summary["activations"]["relu"]


def test_table1_holds_its_own_pattern_and_a_reversed_one_does_not():
    shared = {layer: values[0] for layer, values in paper.TABLE1_SLOPES.items()}
    wise = {layer: values[1] for layer, values in paper.TABLE1_SLOPES.items()}
    held = slopes.pattern(shared, wise)
    assert held == {"conv1_largest": {"channel-shared": True, "channel-wise": True},
                    "deeper_smaller": {"channel-shared": True, "channel-wise": True},
                    "fc_smallest": {"channel-shared": True, "channel-wise": True},
                    "wise_above_shared_deep": True}
    # Slopes growing with depth: every check fails (and the variants swapped).
    rising = {layer: 0.01 * i for i, layer in enumerate(paper.TABLE1_SLOPES)}
    reversed_pattern = slopes.pattern({k: v + 0.001 for k, v in rising.items()}, rising)
    assert reversed_pattern == {
        "conv1_largest": {"channel-shared": False, "channel-wise": False},
        "deeper_smaller": {"channel-shared": False, "channel-wise": False},
        "fc_smallest": {"channel-shared": False, "channel-wise": False},
        "wise_above_shared_deep": False}
