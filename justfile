# Recipes a person runs. `just demo` and `just test` work from a fresh clone.
set shell := ["bash", "-euo", "pipefail", "-c"]

venv := ".venv"
py := venv + "/bin/python"

# list recipes
default:
    @just --list

# create / refresh the virtual environment (edge + cloud + dev extras)
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x {{py}} ]; then python3.11 -m venv {{venv}} 2>/dev/null || python3 -m venv {{venv}}; fi
    if [ ! -f {{venv}}/.installed ] || [ pyproject.toml -nt {{venv}}/.installed ]; then
      {{py}} -m pip install -q --upgrade pip
      {{py}} -m pip install -q -e '.[edge,cloud,dev]'
      touch {{venv}}/.installed
    fi

# end to end: sample drive -> edge agent -> MQTT -> cloud -> assessed claim in the review queue
demo *ARGS: setup
    deploy/ensure-mosquitto.sh
    {{py}} -m deploy.demo {{ARGS}}

# the whole test suite (SQLite, and PostgreSQL where 127.0.0.1:5432 answers)
test *ARGS: setup-train
    deploy/ensure-mosquitto.sh
    {{py}} -m pytest {{ARGS}}

# add the train extra (torch==2.13.0 CPU, onnx) to the environment
setup-train: setup
    {{py}} -m pip install -q -e '.[edge,cloud,dev,train]'

# train, export, INT8-quantize and card every model the repo ships (edge miners, cloud local scene model)
train-models: setup-train
    {{py}} -m edge_agent.training --jobs 2
    {{py}} -m cloud_api.training

# evaluate the edge miners over ../shared/data/real (where present) and generated drives
eval *ARGS: setup
    {{py}} -m edge_agent.evaluation {{ARGS}}

# benchmarks that print figures: edge, recorder, delivery, ingest, assessment, api (all by default)
bench *ARGS: setup
    deploy/ensure-mosquitto.sh
    {{py}} -m tests.bench {{ARGS}}
