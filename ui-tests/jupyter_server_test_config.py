"""Jupyter server settings that Galata needs, for the server the test script starts.

Galata drives JupyterLab through an in-page helper extension shipped with JupyterLab
(``jupyterlab/galata``) and through ``window.jupyterapp``. Whatever starts the server under test
(``jupyter wp5 playground`` in scripts/test) must load this file, e.g. ``--config=<this file>``, or
apply the same settings. ``configure_jupyter_server`` hard-codes port 8888 and an empty token;
both are overridden here from ``WP5_PORT`` and ``WP5_TOKEN``.

Never use this configuration outside tests: it turns off XSRF checks.
"""

import os

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821  (provided by the traitlets config loader)

configure_jupyter_server(c)

c.ServerApp.port = int(os.environ.get("WP5_PORT", "8888"))
c.ServerApp.ip = "127.0.0.1"
c.IdentityProvider.token = os.environ.get("WP5_TOKEN", "")
# JupyterLab refuses to run as root without this (the test machines run as root).
c.ServerApp.allow_root = True
