"""A second JupyterLab for the browser tests, acting as another of the playground's accounts.

The playground's own lab acts as the playground's account (an INAF member). The access spec needs
a Leonardo user's panel: this starts a lab with the extension whose Rucio account is that user
(the playground's client rucio.cfg of the account), with the playground's communities and ledger,
as a Leonardo user's own server would be configured. It runs until it is stopped.

Usage: python account_lab.py ROOT PORT TOKEN [ACCOUNT]   (ACCOUNT default: leonardo-user)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from jupyter_wp5.playground.communities import LEONARDO_USER, community_config
from jupyter_wp5.playground.info import FacilityInfo
from jupyter_wp5.playground.rucio_config import RucioFiles


def main(argv: list[str]) -> None:
    """Write the lab's configuration and become that lab."""
    root, port, token = Path(argv[0]), int(argv[1]), argv[2]
    account = argv[3] if len(argv) > 3 else LEONARDO_USER
    info = FacilityInfo.read(root / "facility.json")
    work = Path(tempfile.mkdtemp(prefix=f"wp5-{account}-lab-"))
    config = {
        "ServerApp": {
            "ip": "127.0.0.1",
            "port": port,
            "open_browser": False,
            "allow_root": True,
            "root_dir": str(work),
            "jpserver_extensions": {"jupyter_wp5": True},
        },
        "IdentityProvider": {"token": token},
        "RucioConnection": {"rucio_config": str(RucioFiles(root / "rucio").client_cfg(account))},
        "RequestStore": {"path": str(work / "requests.sqlite")},
        "DownloadManager": {"scratch_dir": str(work / "scratch")},
        **community_config(info.account),
    }
    if info.ledger is not None:
        config["AccessLedger"] = {
            "url": info.ledger.url,
            "token_file": str(info.ledger.token_file),
            "trusted_keys": list(info.ledger.verifier_keys),
        }
    path = work / "jupyter_server_config.json"
    path.write_text(json.dumps(config))
    os.execvp(sys.executable, [sys.executable, "-m", "jupyterlab", f"--config={path}"])


if __name__ == "__main__":
    main(sys.argv[1:])
