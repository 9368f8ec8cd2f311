#!/usr/bin/env bash
# ZeroshotCLIP, few-shot: evaluate zero-shot CLIP on all classes of DATASET (SHOTS is ignored; the run is filed as 0 shots).
# usage: bash scripts/zsclip/few_shot.sh DATASET SHOTS SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP few_shot "$@"
