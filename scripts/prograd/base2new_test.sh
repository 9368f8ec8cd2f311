#!/usr/bin/env bash
# ProGrad, base-to-new: evaluate the base2new_train model of DATASET/SEED on the new classes.
# usage: bash scripts/prograd/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job ProGrad base2new_test "$@"
