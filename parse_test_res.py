"""CoOp-compatible result parser: `python parse_test_res.py DIRECTORY [--ci95] [--test-log] [--multi-exp]
[--keyword accuracy]` (a thin front of clipfit.app.results; see --help)."""
import sys

from clipfit.app.results.coop_parser import main

if __name__ == "__main__":
    sys.exit(main())
