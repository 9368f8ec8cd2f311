"""What every layer uses and no layer owns: atomic file writes, checkpoint files, YAML config files, the
learning-rate schedule, job recipes, user paths, data lists, lazy exports, the fixes for a real Dassl and
ProGrad's gradient projection (the engine's and the ProGrad trainer's).

Imports nothing from the engine, clip/, app/, trainers/ or datasets/ (tests/test_house_rules.py checks it).
"""
