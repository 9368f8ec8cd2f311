#!/usr/bin/env bash
# ZeroshotCLIP, base-to-new: evaluate zero-shot CLIP on the new classes of DATASET.
# usage: bash scripts/zsclip/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP base2new_test "$@"
