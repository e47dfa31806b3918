"""Jupyter server settings Galata needs, loaded by the playground's JupyterLab during browser tests.

ui-tests/run.sh puts this folder on JUPYTER_CONFIG_PATH before it starts `jupyter wp5 playground`.
Galata drives JupyterLab through an in-page helper extension shipped with JupyterLab and through
``window.jupyterapp``. Port and token stay the playground's (its command line wins over this file).

XSRF checks stay on, as in a real deployment: Galata's requests carry the token header, which
Jupyter exempts from them, and tests/login.spec.ts logs in with the cookie and sends the header.
"""

import os

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821  (provided by the traitlets config loader)

configure_jupyter_server(c)
# configure_jupyter_server empties the token; keep the one the playground was given.
c.IdentityProvider.token = os.environ["JUPYTER_TOKEN"]
# configure_jupyter_server turns XSRF checks off; the browser's real login path needs them on.
c.ServerApp.disable_check_xsrf = False
