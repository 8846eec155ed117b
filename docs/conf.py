"""Sphinx configuration of the badges service's documentation (``tox -e docs``; CI builds it with -W)."""
from __future__ import annotations

project = "Open edX Badges Service"
author = "The badges service contributors"
copyright = "2026, the badges service contributors"

extensions = ["sphinx.ext.autosectionlabel"]
autosectionlabel_prefix_document = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_theme_options = {"page_width": "1200px", "sidebar_width": "230px"}
