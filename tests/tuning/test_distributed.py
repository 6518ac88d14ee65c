"""keras-tuner's chief/worker mode on 127.0.0.1: a chief and two workers (one training each
of its trials on two replicas, MirroredStrategy) run a tiny search. One worker is killed in
a trial and started again under its id: it resumes that trial from its checkpoint. Every
trial runs exactly once, every process exits by itself, and the chief's report holds what
the workers trained."""

import json
import re
import signal
import socket
import time

import tensorflow as tf

from tests.tuning.conftest import quick_settings, start_search

TRIALS = 4
STEPS = 40
TIMEOUT = 420  # seconds for the whole search; the chief polls its workers every 20 s


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(log, directory):
    """The trials a worker's log says it started, and those it resumed."""
    text = log.read_text()
    pattern = rf"the run in {re.escape(str(directory))}/keras_tuner/trial_(\d+)/"
    return (re.findall("Starting " + pattern, text), re.findall("Resuming " + pattern, text))


def test_a_chief_and_two_workers_run_every_trial_once_and_exit(tmp_path):
    directory = tmp_path / "search"
    config = quick_settings(output_dir=str(directory), max_trials=TRIALS, epochs=1,
                            steps_per_epoch=STEPS, checkpoint_every=2, learning_rates=[0.02],
                            switch_epochs=None)
    port = str(free_port())

    def start(name, replicas=1, run="1"):
        return start_search(config, tmp_path, f"{name}-{run}", cpu_replicas=replicas, env={
            "KERASTUNER_TUNER_ID": name, "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": port})

    processes = {"chief": start("chief"), "tuner0": start("tuner0"),
                 "tuner1": start("tuner1", replicas=2)}
    try:
        # Kill tuner0 at the first checkpoint of its first trial, then start it again.
        process, log = processes["tuner0"]
        deadline = time.monotonic() + TIMEOUT
        while True:
            first = started(log, directory)[0][:1]
            if first and tf.train.latest_checkpoint(
                    str(directory / "keras_tuner" / f"trial_{first[0]}" / "execution0" /
                        "checkpoints")):
                break
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed = first[0]
        killed_dir = directory / "keras_tuner" / f"trial_{killed}" / "execution0"
        assert "results" not in json.loads((killed_dir / "run.json").read_text())
        processes["tuner0 again"] = start("tuner0", run="2")

        for name, (process, log) in processes.items():
            if name != "tuner0":
                assert process.wait(timeout=TIMEOUT) == 0, f"{name}:\n{log.read_text()[-3000:]}"
    finally:
        for process, _ in processes.values():
            if process.poll() is None:
                process.kill()

    ran = {name: started(log, directory) for name, (_, log) in processes.items()}
    assert ran["chief"] == ([], [])  # the chief serves the trials and trains the references
    assert ran["tuner0 again"][1] == [killed]  # its trial back, resumed
    assert sorted(sum((starts for starts, _ in ran.values()), [])) == [
        str(i) for i in range(TRIALS)]

    reported = json.loads((directory / "results.json").read_text())
    assert [trial["trial_id"] for trial in reported["trials"]] == [str(i) for i in range(TRIALS)]
    for trial in reported["trials"]:
        run_dir = directory / "keras_tuner" / f"trial_{trial['trial_id']}" / "execution0"
        results = json.loads((run_dir / "run.json").read_text())["results"]
        assert trial["status"] == "COMPLETED"
        assert trial["metrics"] == results["logs"]
        assert results["steps"] == STEPS
        assert results["replicas"] == (2 if trial["trial_id"] in ran["tuner1"][0] else 1)
        assert (run_dir / "history.csv").read_text().count("\n0,") == 1  # its epoch once
    for activation in ("relu", "prelu", "prelu_shared"):
        assert reported["references"][activation]["metrics"]
