from . import feature_probe, prograd_probe, two_views  # noqa: F401
