"""The playground's dask-gateway server starts even when another program takes one of its ports
between the moment it is chosen and the moment the server binds it."""

from __future__ import annotations

import socket

import pytest

from jupyter_wp5.playground import gateway as gateway_module
from jupyter_wp5.playground.gateway import PlaygroundGateway
from jupyter_wp5.playground.processes import ProcessRegistry, free_ports

pytestmark = pytest.mark.timeout(180)


def test_gateway_starts_on_new_ports_when_one_was_taken(tmp_path, monkeypatch):
    with socket.socket() as other:
        # Another program listens on a port the gateway chose (the race, made certain).
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        chosen: list[list[int]] = []

        def choose(count: int) -> list[int]:
            ports = [taken, *free_ports(count - 1)] if not chosen else free_ports(count)
            chosen.append(ports)
            return ports

        monkeypatch.setattr(gateway_module, "free_ports", choose)
        server = PlaygroundGateway(
            tmp_path / "gateway", ProcessRegistry(tmp_path / "pids.json", tmp_path / "logs")
        )
        try:
            info = server.start()
        finally:
            server.stop()
    assert len(chosen) == 2 and chosen[0][0] == taken
    assert info.address == f"http://127.0.0.1:{chosen[1][0]}"
