"""A run's output directory: it belongs to one run, and every file in it is written whole.

`run.json` records the run's identity (its task and every setting that defines what is
trained) and its seed. Running the same command again resumes that run; a run with other
settings pointed at the directory is refused before anything is written, with the
settings that differ, unless it asks to start over, which moves the old run aside.

Files are written to a scratch name next to their place and renamed into it
(`os.replace` is atomic on POSIX), so a run that fails or is killed at any moment leaves
each file as it was or as it should be, never half-written.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

IDENTITY_FILE = "run.json"
SETTINGS_FILE = "config.json"


class RunDirectoryError(ValueError):
    """The output directory holds another run, or files that are not a run's."""


def write_atomically(path, write):
    """Calls `write(scratch_path)`, then renames the scratch file to `path`.

    The scratch name ends in `path`'s extension, since writers such as Keras's `save` and
    matplotlib's choose the format by it."""
    path = Path(path)
    handle, scratch = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}",
                                       dir=path.parent)
    os.close(handle)
    try:
        write(scratch)
        os.replace(scratch, path)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)


def write_json(path, values):
    """Writes `values` as indented JSON, atomically."""
    def write(scratch):
        with open(scratch, "w", encoding="utf-8") as handle:
            json.dump(values, handle, indent=2)
            handle.write("\n")
    write_atomically(path, write)


def write_text(path, text):
    """Writes a text file atomically."""
    write_atomically(path, lambda scratch: Path(scratch).write_text(text, encoding="utf-8"))


def save_array(path, array):
    """Writes a `.npy` file atomically."""
    def write(scratch):
        with open(scratch, "wb") as handle:
            np.save(handle, array)
    write_atomically(path, write)


def save_model(path, model):
    """Saves a Keras model (`.keras`) atomically."""
    write_atomically(path, model.save)


def _differences(recorded, wanted):
    """'name: recorded -> wanted' for every setting that differs, in a stable order."""
    names = sorted(set(recorded) | set(wanted))
    missing = object()
    rows = []
    for name in names:
        old, new = recorded.get(name, missing), wanted.get(name, missing)
        if old != new:
            old = "(not set)" if old is missing else json.dumps(old)
            new = "(not set)" if new is missing else json.dumps(new)
            rows.append(f"{name} {old} (this run: {new})")
    return rows


class RunDirectory:
    """The output directory of one run.

    Args:
        path: the directory.
        task: the kind of run ("classification", "detection", ...), part of its identity.
        identity: the settings that define what is trained (JSON-compatible).
        start_over: when the directory holds another run, move it aside at `claim()`
            instead of refusing.

    Raises:
        RunDirectoryError: at construction, when the directory holds another run (or
            files that are not a run's) and `start_over` is false. Nothing is written.
    """

    def __init__(self, path, task, identity, *, start_over=False):
        self.path = Path(path)
        self.identity = {"task": task, **identity}
        self.start_over = start_over
        self.recorded = None  # the identity file of the run already here, if it is this one
        self._replace = False
        record = self._read_record()
        if record is None:
            if self.path.exists() and any(self.path.iterdir()):
                self._conflict(
                    f"{self.path} is not empty and holds no {IDENTITY_FILE}: it is not a "
                    "keras-prelu run (or one from an older version)")
            return
        differences = _differences(record.get("identity", {}), self.identity)
        if not differences:
            self.recorded = record
            return
        self._conflict(f"{self.path} holds another run; it differs in " + "; ".join(differences))

    def _read_record(self):
        path = self.path / IDENTITY_FILE
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise RunDirectoryError(
                f"{path} cannot be read ({error}); move the directory aside or use another "
                "--output-dir."
            ) from None

    def _conflict(self, what):
        if self.start_over:
            self._replace = True
            return
        raise RunDirectoryError(
            f"{what}. Use another --output-dir for this run, or --start-over to move the "
            f"old one to {self._aside()} and start afresh."
        )

    def _aside(self):
        for n in range(1, 10_000):
            candidate = self.path.with_name(f"{self.path.name}.old-{n}")
            if not candidate.exists():
                return candidate
        raise RunDirectoryError(f"Too many old runs beside {self.path}; remove some.")

    @property
    def resuming(self):
        """Whether this directory already holds this very run."""
        return self.recorded is not None

    @property
    def seed(self):
        """The seed recorded by the run, if it is being resumed."""
        return None if self.recorded is None else self.recorded.get("seed")

    @property
    def finished(self):
        """The recorded results, if this run already finished (else None)."""
        return None if self.recorded is None else self.recorded.get("results")

    def claim(self, seed, settings):
        """Makes the directory this run's: moves another run aside if asked to, then records
        the identity, the seed and the full settings. Call it once the run is known to be
        valid (data found, model built): nothing is written before."""
        if self._replace and self.path.exists():
            aside = self._aside()
            shutil.move(str(self.path), str(aside))
            print(f"Moved the run that was in {self.path} to {aside}.")
        self.path.mkdir(parents=True, exist_ok=True)
        if self.recorded is None:
            self.recorded = {"identity": self.identity, "seed": seed}
            write_json(self.path / IDENTITY_FILE, self.recorded)
        write_json(self.path / SETTINGS_FILE, settings)

    def record_results(self, results):
        """Marks the run finished, with its results (a rerun then trains nothing)."""
        self.recorded = {**self.recorded, "results": results}
        write_json(self.path / IDENTITY_FILE, self.recorded)
