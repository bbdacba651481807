"""WSGI entry point for crossgate's OpenStack API units.

oslo.config parses sys.argv, so a WSGI server's own arguments (gunicorn's bind, workers, ...)
would reach the service as its command line. This module clears them and loads the application
named by CROSSGATE_WSGI_APP ("package.module:attribute"); the service finds its configuration
through its own environment variables (OS_*_CONFIG_DIR or OS_*_CONFIG_FILES).
"""
import importlib
import os
import sys

sys.argv = sys.argv[:1]
_module, _, _attribute = os.environ["CROSSGATE_WSGI_APP"].partition(":")
application = getattr(importlib.import_module(_module), _attribute or "application")
