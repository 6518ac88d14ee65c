# The two Quickstart commands: `make demo` (the main job) and `make test`.
# Both create or reuse .venv, install the package with its extras, install the Debian
# data packages the jobs read (when apt is available), then run. Safe to run again.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEBIAN_DATA := dataset-fashion-mnist labelme-examples

.PHONY: demo tune test setup debian-data lint cards bench

demo: setup debian-data
	$(BIN)/python recipes/train.py --config recipes/configs/fashion_mnist.toml

# keras-tuner's search over LReLU's slope beside ReLU and PReLU (README, "Tuning the LReLU slope").
tune: setup debian-data
	$(BIN)/python recipes/tune_lrelu.py --config recipes/configs/tune_lrelu.toml

test: setup debian-data
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest tests
	# The layers and the initializer use keras.ops only: run their tests on JAX and torch too.
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests/layers tests/test_initializers.py
	KERAS_BACKEND=torch $(BIN)/python -m pytest tests/layers tests/test_initializers.py

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every version CI tests; setup.py keeps ranges for users.
$(STAMP): setup.py pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,detection,plots,tuning]"
	touch $@

debian-data:
	@missing=""; \
	for p in $(DEBIAN_DATA); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "note: apt-get not found; install$$missing yourself or point KERAS_PRELU_DATA_DIR at the files (README, Data)"; \
	  exit 0; fi; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	echo "installing Debian data packages:$$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq$$missing \
	  || echo "warning: could not install$$missing; the jobs that need them will say what to do"

lint: setup
	$(BIN)/ruff check .

cards: setup
	$(BIN)/python -m keras_prelu.zoo.cards zoo

bench: setup
	for script in layers pipeline training evaluation detection; do $(BIN)/python bench/$$script.py || exit 1; done

# The paper's findings at a small scale (README, "Reproduction"): resumable (rerun it after
# an interruption); then the model cards, which show the measured results.
.PHONY: reproduce
reproduce: setup debian-data
	$(BIN)/python recipes/reproduce.py
	$(BIN)/python -m keras_prelu.zoo.cards zoo

# Table 8 at local scale (README, "Detection"): resumable; then the model cards.
.PHONY: detect
detect: setup debian-data
	$(BIN)/python recipes/voc_fast_rcnn.py table8
	$(BIN)/python -m keras_prelu.zoo.cards zoo
