#!/usr/bin/env bash
# CoOp, base-to-new: evaluate the base2new_train model of DATASET/SEED on the new classes.
# usage: bash scripts/coop/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job CoOp base2new_test "$@"
