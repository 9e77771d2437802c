# Entry points of the NEURAL project. Every target first makes sure the toolchain is installed
# (tools/bootstrap.sh, idempotent), so a fresh clone needs nothing else.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.bootstrap-stamp
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# Simulation knobs: make sim TEST=<name> [SIM=verilator|icarus] [SEED=<n>] [CONFIG=<id>] [WAVES=1]
#   [WAVE_FROM=<ns> WAVE_TO=<ns>] (Icarus: dump only that window) [TESTCASE=<class>]
TEST   ?=
SIM    ?= verilator
SEED   ?=
CONFIG ?= all
WAVES  ?= 0
# Regression knobs: make regress [SEEDS=<n>] [SIM=both|verilator|icarus] [JOBS=<n>]
SEEDS  ?= 5
JOBS   ?= 2
# Seeds per test and config in make test (CI)
CI_SEEDS ?= 1

RTL_FILES  := $(wildcard rtl/*.sv)
RTL_TOPS   := $(basename $(notdir $(RTL_FILES)))
BOARD_FILES := $(wildcard fpga/rtl/*.sv)
BOARD_TOPS  := $(basename $(notdir $(BOARD_FILES)))
PY_DIRS    := golden train verif tools fpga

.PHONY: help bootstrap sim test unit regress synth lint lint-rtl lint-py fusesoc-lint fusesoc-synth \
  train accuracy clean

help:
	@echo "make test                      lint + every unit and simulation test (CI entry point)"
	@echo "make sim [IMAGES=n] [DATA=dir] [MODEL=pkg]  trained VGG-11 on real images through the core"
	@echo "make sim TEST=<name> [SIM=verilator|icarus] [SEED=n] [CONFIG=id] [WAVES=1]"
	@echo "                               one simulation test; tests: $$($(PY) -c 'from verif.registry import TESTS; print(" ".join(TESTS))' 2>/dev/null)"
	@echo "make regress [SEEDS=5] [SIM=both|verilator|icarus] [JOBS=2]"
	@echo "                               every test, seeds, coverage, plan status: build/regress/report.md"
	@echo "make synth [SYNTH_JOBS=\"core pe256\"]  Yosys resource estimates (build/synth)"
	@echo "make lint                      Verilator -Wall, slang, Verible on rtl/; ruff on Python"
	@echo "make fusesoc-lint              fusesoc run --target lint neural"
	@echo "make fusesoc-synth             fusesoc run --target synth neural (Yosys, xc7; a few minutes)"
	@echo "make bootstrap                 install the toolchain into $(VENV) (done by every target)"

$(STAMP): requirements.txt tools/bootstrap.sh
	@tools/bootstrap.sh
	@touch $@

bootstrap: $(STAMP)

# Main job: the shipped KD-trained VGG-11 on real CIFAR-10 test images through the whole core,
# every image and layer checked against the golden model. IMAGES=<n>, DATA=<dir with
# cifar10_test.npz> and MODEL=<package> choose other inputs.
MAIN_TEST   := test_neural_top
MAIN_CONFIG ?= vgg11_w025_kd
export IMAGES DATA MODEL

sim: $(STAMP)
ifeq ($(TEST),)
	$(PY) -m verif.run $(MAIN_TEST) --sim $(SIM) --config $(MAIN_CONFIG) \
	  --testcase NeuralTopImagesTest $(if $(SEED),--seed $(SEED)) \
	  $(if $(filter 1 yes true,$(WAVES)),--waves)
else
	$(PY) -m verif.run $(TEST) --sim $(SIM) --config $(CONFIG) \
	  $(if $(SEED),--seed $(SEED)) $(if $(filter 1 yes true,$(WAVES)),--waves) \
	  $(if $(WAVE_FROM),--wave-window $(WAVE_FROM):$(WAVE_TO)) $(if $(TESTCASE),--testcase $(TESTCASE))
endif

test: lint unit fusesoc-synth
	$(PY) -m verif.regress --seeds $(CI_SEEDS) --sim both --jobs $(JOBS) --quick

unit: $(STAMP)
	$(PY) -m pytest -n $(JOBS) --junitxml=build/unit-results.xml

regress: $(STAMP)
	$(PY) -m verif.regress --seeds $(SEEDS) --sim $(if $(filter command line,$(origin SIM)),$(SIM),both) \
	  --jobs $(JOBS) $(if $(SEED),--seed $(SEED))

lint: lint-rtl lint-py fusesoc-lint

lint-rtl: $(STAMP)
	@for top in $(RTL_TOPS); do \
	  echo "verilator --lint-only -Wall --top-module $$top"; \
	  verilator --lint-only -Wall --top-module $$top $(RTL_FILES) >/dev/null || exit 1; \
	done
	$(PY) tools/slang_lint.py -Weverything -Werror $(addprefix --top ,$(RTL_TOPS)) $(RTL_FILES)
	@for top in $(BOARD_TOPS); do \
	  echo "verilator --lint-only -Wall --top-module $$top (board)"; \
	  verilator --lint-only -Wall --top-module $$top $(RTL_FILES) $(BOARD_FILES) >/dev/null || exit 1; \
	done
	@# VERILATOR selects the simulation branch of the board clock module, as in simulation.
	$(PY) tools/slang_lint.py -Weverything -Werror -DVERILATOR \
	  $(addprefix --top ,$(RTL_TOPS) vc707_top) $(RTL_FILES) $(BOARD_FILES)
	verible-verilog-lint --rules=line-length=length:100 $(RTL_FILES) $(BOARD_FILES)

lint-py: $(STAMP)
	ruff check $(PY_DIRS)
	ruff format --check $(PY_DIRS)

# Training: make train MODEL=vgg11 WIDTH=0.25 DATASET=cifar10 KD=1 [STAGE=all] [EPOCHS=<n>]
TRAIN_MODEL ?= $(if $(filter vgg11 resnet11 qkfresnet11,$(MODEL)),$(MODEL),vgg11)
WIDTH   ?= 0.25
DATASET ?= cifar10
KD      ?= 1
STAGE   ?= all

train: $(STAMP)
	$(PY) -m train --model $(TRAIN_MODEL) --width $(WIDTH) --dataset $(DATASET) --kd $(KD) \
	  --stage $(STAGE) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(DATA),--data $(DATA))

# Accuracy of the fine-tuned torch model and the golden integer model, and their agreement:
# make accuracy [MODEL=<package>] (every shipped package without MODEL)
accuracy: $(STAMP)
	$(PY) -m golden.accuracy $(if $(MODEL),--model $(MODEL)) $(if $(IMAGES),--images $(IMAGES)) \
	  $(if $(DATA),--data $(DATA))

# Yosys LUT/FF/BRAM/DSP estimates of the core and its blocks (cached in build/synth)
synth: $(STAMP)
	$(PY) -m fpga.synth $(if $(SYNTH_JOBS),--jobs $(SYNTH_JOBS))

fusesoc-lint: $(STAMP)
	fusesoc run --target lint neural

# The FuseSoC synthesis target end to end; fails unless Yosys writes a netlist.
fusesoc-synth: $(STAMP)
	rm -rf build/fusesoc-synth
	fusesoc run --build-root build/fusesoc-synth --target synth neural
	@edif=$$(find build/fusesoc-synth -name '*.edif' -size +1k); test -n "$$edif" \
	  || { echo "fusesoc-synth: no netlist written"; exit 1; }; echo "netlist: $$edif"

clean:
	rm -rf build
