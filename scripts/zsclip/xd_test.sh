#!/usr/bin/env bash
# ZeroshotCLIP, cross-dataset / domain generalization: evaluate zero-shot CLIP on DATASET (or an ImageNet variant).
# usage: bash scripts/zsclip/xd_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job ZeroshotCLIP xd_test "$@"
