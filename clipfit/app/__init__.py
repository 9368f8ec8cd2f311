"""The application layer: the commands, job recipes, sweeps, results and data checks that run the plugins.

The only code that imports the project's `trainers/` and `datasets/` (through `plugins`); the library
below it (`clipfit.engine`, `clipfit.clip`, `clipfit.compat`, ...) never does.
"""
