#!/usr/bin/env bash
# IVLP, base-to-new: evaluate the base2new_train model of DATASET/SEED on the new classes.
# usage: bash scripts/independent-vlp/base2new_test.sh DATASET SEED
source "$(dirname "$0")/../common.sh"
run_job IVLP base2new_test "$@"
