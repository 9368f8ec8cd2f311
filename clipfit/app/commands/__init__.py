"""One module per `clipfit` subcommand (NAME, HELP, add_arguments, run; listed in `clipfit.app.cli`).

The rule of this layer: torch, open_clip, the trainers and whatever imports them are imported at the
point of use, inside the function that needs them, so that `--help`, usage errors and the checks that
need no model answer at once (tests/cli/test_cli_no_torch.py, tests/test_house_rules.py).
"""
