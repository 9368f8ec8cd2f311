"""CoOp-compatible result parser: `python parse_test_res.py DIRECTORY [--ci95] [--test-log] [--multi-exp]
[--keyword accuracy]` (a thin front of clipfit.results; see --help)."""
import sys

from clipfit.results.coop_parser import main

if __name__ == "__main__":
    sys.exit(main())
