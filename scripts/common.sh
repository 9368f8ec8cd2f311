# Sourced by every benchmark script: run one job through clipfit.app.runner from the repository root.
# The recipe (config per dataset, options, env knobs) lives on the trainer class; the output folder in clipfit/app/jobs.py.
# By hand the scripts run `python` from PATH, as CoOp's do; callers such as `clipfit demo`, `clipfit sweep`
# and the tests set PYTHON to their own interpreter so a venv need not be active.
run_job() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
    exec "${PYTHON:-python}" -m clipfit.app.runner "$@"
}
