"""``%wp5 replicate / transfers / fileset`` parsing, and waiting for a request (progress polled
from an in-memory transport whose states advance on each poll)."""

from __future__ import annotations

import functools
import re

import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_wp5 import api
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.display import ResultTable
from jupyter_wp5.kernel.magics import UsageError, build_parser
from jupyter_wp5.kernel.progress import wait
from jupyter_wp5.models import (
    DID,
    Fileset,
    FilesetEntry,
    InvalidRequest,
    ReplicaMode,
    ReplicaProgress,
    ReplicaRequest,
    TransferStuck,
    TransferTimeout,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
DY = "cms:DYJetsToLL_M-50_NanoAODv9"
RULE_ID = "a" * 32


def progress(state: str, ok: int, total: int = 3, error: str | None = None) -> ReplicaProgress:
    return ReplicaProgress(
        id=RULE_ID,
        did=DY,
        rse_expression="SITE-B",
        state=state,
        copies=1,
        files_total=total,
        files_ok=ok,
        files_replicating=total - ok if state == "REPLICATING" else 0,
        files_stuck=total - ok if state == "STUCK" else 0,
        error=error,
    )


class MemoryReplicas:
    """Answers each poll with the next of ``states``; records what was requested."""

    def __init__(self, states: list[ReplicaProgress]) -> None:
        self.states = states
        self.requested: list[ReplicaRequest] = []
        self.polls = 0

    def request(self, req: ReplicaRequest) -> ReplicaProgress:
        self.requested.append(req)
        return self.states[0]

    def get(self, request_id: str) -> ReplicaProgress:
        self.polls += 1
        return self.states[min(self.polls, len(self.states) - 1)]

    def list(self) -> list[ReplicaProgress]:
        return [self.states[-1]]


class MemoryFilesets:
    def fileset(self, did: DID, rse: str, protocol: str | None, allow_partial: bool) -> Fileset:
        url = f"root://127.0.0.1//{rse}/{did.name}.root"
        return Fileset([FilesetEntry(did.name, {url: "Events"}, str(did), rse, protocol, 1, 10)])


class MemoryTransport:
    """The replica and fileset operations of the transport contract, from memory."""

    def __init__(self, states: list[ReplicaProgress]) -> None:
        self.replicas = MemoryReplicas(states)
        self.filesets = MemoryFilesets()

    def close(self) -> None:
        pass


@pytest.fixture
def slept(monkeypatch) -> list[float]:
    """The pauses between polls that ``%wp5 ... --wait`` and ``replicate(wait=True)`` asked for,
    recorded instead of slept. (``wait``'s ``sleep`` default was bound at import: patching
    ``time.sleep`` would not reach it.)"""
    pauses: list[float] = []
    no_sleep = functools.partial(wait, sleep=pauses.append)
    monkeypatch.setattr("jupyter_wp5.kernel.magics.wait", no_sleep)
    monkeypatch.setattr("jupyter_wp5.api.wait_for", no_sleep)
    return pauses


@pytest.fixture
def ip(slept):
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_wp5")
    yield shell
    api.set_client(None)


def use(states: list[ReplicaProgress]) -> MemoryReplicas:
    transport = MemoryTransport(states)
    api.set_client(Wp5Client(transport))
    return transport.replicas


def test_replicate_arguments_parse() -> None:
    args = build_parser().parse_args(
        ["replicate", DY, "--to", "SITE-B", "--lifetime", "7d", "--comment", "for z", "--wait"]
    )
    assert (args.did, args.to, args.lifetime, args.comment, args.wait, args.download) == (
        DY,
        "SITE-B",
        "7d",
        "for z",
        True,
        False,
    )
    args = build_parser().parse_args(["replicate", DY, "--download"])
    assert args.download and args.to is None
    args = build_parser().parse_args(["fileset", DY, "--rse", "SITE-A", "--allow-partial"])
    assert (args.rse, args.protocol, args.allow_partial) == ("SITE-A", None, True)
    with pytest.raises(UsageError, match=r"^fileset: .*--rse"):
        build_parser().parse_args(["fileset", DY])


def test_replicate_needs_a_destination_or_download(ip, capsys) -> None:
    replicas = use([progress("REPLICATING", 0)])
    assert ip.run_line_magic("wp5", f"replicate {DY}") is None
    err = ANSI.sub("", capsys.readouterr().err)
    assert "give --to RSE, or --download" in err
    assert replicas.requested == []


def test_replicate_sends_the_request(ip, capsys) -> None:
    replicas = use([progress("REPLICATING", 0)])
    table = ip.run_line_magic("wp5", f"replicate {DY} --to SITE-B --lifetime 7d --comment hi")
    assert isinstance(table, ResultTable) and table[0].id == RULE_ID
    (req,) = replicas.requested
    assert (req.did, req.rse_expression, req.lifetime, req.comment, req.mode) == (
        DID.parse(DY),
        "SITE-B",
        7 * 86400,
        "hi",
        ReplicaMode.RULE,
    )
    assert f"(id {RULE_ID})" in capsys.readouterr().out
    replicas = use([progress("REPLICATING", 0)])  # a fresh transport for the download case
    ip.run_line_magic("wp5", f"replicate {DY} --download")
    (req,) = replicas.requested
    assert req.mode is ReplicaMode.DOWNLOAD and req.rse_expression == ""


def test_wait_returns_when_ok_and_shows_each_step(ip) -> None:
    states = [progress("REPLICATING", 0), progress("REPLICATING", 2), progress("OK", 3)]
    replicas = use(states)
    seen: list[int] = []

    class Recorder:
        def __init__(self, first: ReplicaProgress) -> None:
            seen.append(first.files_ok)

        def update(self, p: ReplicaProgress) -> None:
            seen.append(p.files_ok)

        def close(self) -> None:
            seen.append(-1)

    client = api.get_client()
    done = wait(lambda: client.transfer(RULE_ID), states[0], bar=Recorder, sleep=lambda s: None)
    assert done.state == "OK" and seen == [0, 2, 3, -1] and replicas.polls == 2


def test_wait_raises_the_reason_when_stuck(ip, capsys, slept) -> None:
    use([progress("REPLICATING", 0), progress("STUCK", 1, error="source file checksum mismatch")])
    with pytest.raises(TransferStuck, match=r"STUCK .*2 of 3 files failed.*checksum mismatch"):
        api.replicate(DY, to="SITE-B", wait=True)
    assert slept == [1.0]  # one pause before the one poll that saw STUCK
    # The magic shows it as one readable line.
    use([progress("REPLICATING", 0), progress("STUCK", 1, error="no source")])
    assert ip.run_line_magic("wp5", f"replicate {DY} --to SITE-B --wait") is None
    lines = [x for x in ANSI.sub("", capsys.readouterr().err).splitlines() if x.startswith("wp5:")]
    assert len(lines) == 1 and "no source" in lines[0]
    assert slept == [1.0, 1.0]


def test_wait_timeout_says_the_request_goes_on() -> None:
    first = progress("REPLICATING", 0)
    with pytest.raises(TransferTimeout, match="goes on"):
        wait(lambda: first, first, timeout=0.0, bar=None, sleep=lambda s: None)


def test_transfers_and_fileset(ip) -> None:
    use([progress("OK", 3)])
    table = ip.run_line_magic("wp5", "transfers")
    assert [p.id for p in table] == [RULE_ID] and "3/3" in table.to_text()
    fs = ip.run_line_magic("wp5", f"fileset {DY} --rse SITE-A")
    name = DY.split(":")[1]
    assert list(fs) == [name] and fs[name]["metadata"]["rse"] == "SITE-A"
    assert api.fileset(DY, rse="SITE-A") == fs
    assert Fileset.from_dict(fs).to_dict() == fs


def test_request_body_round_trips() -> None:
    req = ReplicaRequest.from_dict({"did": DY, "mode": "download", "comment": "x"})
    assert ReplicaRequest.from_dict(req.to_dict()) == req
    with pytest.raises(InvalidRequest, match="mode must be rule or download"):
        ReplicaRequest.from_dict({"did": DY, "mode": "teleport"})
    with pytest.raises(InvalidRequest, match="rse_expression is required"):
        ReplicaRequest.from_dict({"did": DY})


def test_transfers_in_a_notebook_show_a_bar_per_moving_request(ip, monkeypatch) -> None:
    """No notebook front end in unit tests: the kernel check is patched; the bars are real
    ipywidgets, the same WidgetBar that ``--wait`` shows."""
    moving = progress("REPLICATING", 1)
    done = ReplicaProgress.from_dict({**progress("OK", 3).to_dict(), "id": "b" * 32})
    replicas = use([done, moving])
    monkeypatch.setattr(replicas, "list", lambda: [moving, done])
    shown: list = []
    monkeypatch.setattr("jupyter_wp5.kernel.progress.in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", shown.append)
    table = ip.run_line_magic("wp5", "transfers")
    assert len(table) == 2  # the table still lists every request
    [box] = shown  # one bar: only the request still moving
    bar, label = box.children
    assert (bar.value, bar.max) == (1, 3)
    assert label.value == f"{DY}: 1/3 files REPLICATING"


def test_transfers_outside_a_notebook_show_the_table_only(ip, monkeypatch) -> None:
    use([progress("REPLICATING", 1)])
    shown: list = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert len(ip.run_line_magic("wp5", "transfers")) == 1 and shown == []
