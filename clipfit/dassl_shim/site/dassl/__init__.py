"""`dassl` served by clipfit's built-in engine; see clipfit/dassl_shim/__init__.py and `clipfit with-dassl`."""
import sys

from clipfit.dassl_shim import install

install(sys.modules[__name__])
