# Sourced by every benchmark script: run one job through clipfit.runner from the repository root.
# The recipe (config per dataset, options, output folder) lives in clipfit/jobs.py; env knobs are listed there.
run_job() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
    exec python -m clipfit.runner "$@"
}
