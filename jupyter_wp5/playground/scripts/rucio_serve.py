"""Serve Rucio's REST API on 127.0.0.1 with werkzeug.

Runs inside the Rucio server virtualenv (never imports jupyter_wp5); reads $RUCIO_CONFIG.
Usage: rucio_serve.py PORT
"""

import signal
import sys

from werkzeug.serving import run_simple


def main() -> None:
    """Import the Flask app and serve it until SIGTERM."""
    port = int(sys.argv[1])
    # SIGTERM ends the process through SystemExit so werkzeug closes its socket cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from rucio.web.rest.flaskapi.v1.main import application

    run_simple(
        "127.0.0.1", port, application, threaded=True, use_reloader=False, use_debugger=False
    )


if __name__ == "__main__":
    main()
