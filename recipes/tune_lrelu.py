"""Search LReLU's slope with keras-tuner, beside ReLU and PReLU on the same budget (Sec. 2.1).

    python recipes/tune_lrelu.py --config recipes/configs/tune_lrelu.toml        # `make tune`
    python recipes/tune_lrelu.py --config recipes/configs/tune_lrelu_quick.toml  # a minute

Table 2 of the paper: a fixed LReLU slope, chosen by cross-validation, can match ReLU but
"needs tedious, repeated training"; PReLU learns it. Each trial trains the config's network
with LReLU at one slope (`keras_prelu.tuning`); ReLU (slope 0) and PReLU, channel-wise and
channel-shared, train on the same budget; the table (results.md) and the plot
(slope_search.png) of the validation error against the slope go in --output-dir.

Every setting of `keras_prelu.tuning.TuneConfig` is a flag: the search's (--tuner random,
bayesian or hyperband, --max-trials, --slope-min/--slope-max, --learning-rate-range, --objective,
--executions-per-trial) and the training config's of every trial (--epochs,
--steps-per-epoch, --model, ...); a TOML or JSON file gives them (--config), flags win. Rerun the
same command after an interruption: the search resumes, finished trials are not trained again.
A directory holding another search is refused (--start-over moves it aside). With
KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT set, the search runs in
keras-tuner's chief/worker mode over several processes or machines (README, "Tuning the LReLU
slope").
"""

from keras_prelu import cli
from keras_prelu.tuning import TuneConfig, search


def main(argv):
    config = cli.parse_settings(TuneConfig, argv, description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1])
    result = search(config)
    if result is None:
        print("This worker has no more trials to run; the chief writes the report.")
        return None
    print(f"\n{result.table}\n\nTable, plot and results in {result.directory}")
    return result


if __name__ == "__main__":
    cli.main(main)
