"""`python -m clipfit`: the `clipfit` console script, for when only the interpreter is at hand."""
import sys

from .app.cli import main

sys.exit(main())
