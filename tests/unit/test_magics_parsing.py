"""``%wp5`` parsing, help and error display, on a real IPython shell over an in-memory transport."""

from __future__ import annotations

import asyncio
import fnmatch
import re
import socket
from typing import TypeVar

import pytest
import requests
from IPython.core.interactiveshell import InteractiveShell

from jupyter_wp5 import api
from jupyter_wp5.data.catalog import RucioCatalog
from jupyter_wp5.kernel import client as client_module
from jupyter_wp5.kernel import rest
from jupyter_wp5.kernel.client import Wp5Client
from jupyter_wp5.kernel.display import ResultTable, format_bytes, format_fraction
from jupyter_wp5.kernel.inprocess import InProcessTransport
from jupyter_wp5.kernel.magics import SUBCOMMANDS, UsageError, Wp5Magics, build_parser
from jupyter_wp5.kernel.rest import RestTransport
from jupyter_wp5.models import (
    DID,
    DatasetDetails,
    DidSummary,
    EngineRefused,
    EngineStatus,
    EngineUnavailable,
    FileEntry,
    FilePage,
    Health,
    InvalidDID,
    InvalidRequest,
    NotFound,
    RuleSummary,
    SearchPage,
    SearchQuery,
    SiteCopy,
    StorageElement,
)

T = TypeVar("T")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

DY = DatasetDetails(
    scope="cms",
    name="DYJetsToLL_M-50_NanoAODv9",
    type="dataset",
    bytes=4_000_000_000,
    files=4,
    copies=[
        SiteCopy("SITE-A", 4, 4, 4_000_000_000, 4_000_000_000),
        SiteCopy("SITE-B", 1, 4, 1_000_000_000, 4_000_000_000),
    ],
    rules=[RuleSummary("r1", "alice", "SITE-B", "REPLICATING", 1, 1, 3, 0)],
    metadata={"events": 200000},
)
TT = DatasetDetails("cms", "TTToSemiLeptonic_NanoAODv9", "dataset", 1_500_000, 2)
DY10 = DatasetDetails("cms", "DYJetsToLL_M-10to50_NanoAODv9", "dataset", 2_000, 1)


def _page(items: list[T], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    # Cursors are opaque to the client: this transport's are the next offset as text.
    start = int(cursor or 0)
    more = len(items) > start + limit
    return items[start : start + limit], str(start + limit) if more else None


class MemoryCatalog:
    """The catalogue operations of the transport contract, answered from memory."""

    def __init__(self, datasets: list[DatasetDetails]) -> None:
        self.datasets = {d.did: d for d in datasets}
        self.queries: list[tuple[SearchQuery, int, str | None]] = []

    def search(self, query: SearchQuery, limit: int, cursor: str | None) -> SearchPage:
        self.queries.append((query, limit, cursor))
        hits = [
            DidSummary(d.scope, d.name, d.type, d.bytes, d.files)
            for d in self.datasets.values()
            if d.scope == query.scope and fnmatch.fnmatchcase(d.name, query.pattern)
        ]
        return SearchPage(str(query), *_page(hits, limit, cursor))

    def describe(self, did: DID) -> DatasetDetails:
        try:
            return self.datasets[str(did)]
        except KeyError:
            raise NotFound(f"{did} does not exist") from None

    def files(self, did: DID, rse: str | None, limit: int, cursor: str | None) -> FilePage:
        d = self.describe(did)
        entries = [
            FileEntry(
                did.scope, f"{did.name}/file_{i}.root", 1000, "0badf00d", {"SITE-A": "AVAILABLE"}
            )
            for i in range(d.files or 0)
        ]
        return FilePage(str(did), *_page(entries, limit, cursor))

    def rses(self) -> list[StorageElement]:
        return [
            StorageElement("SITE-A", "DISK", True, True, True, 10**12, 4 * 10**9),
            StorageElement("SITE-B", "DISK", True, True, False),
        ]


class MemoryTransport:
    """An in-memory transport: the same contract, no server, no Rucio."""

    def __init__(self, datasets: list[DatasetDetails]) -> None:
        self.catalog = MemoryCatalog(datasets)

    def health(self) -> Health:
        return Health("0.0.0", [EngineStatus("rucio", True, "https://rucio", "41.5.1", "alice")])

    def describe_location(self) -> str:
        return "memory"

    def close(self) -> None:
        pass


@pytest.fixture
def transport() -> MemoryTransport:
    return MemoryTransport([DY, TT, DY10])


@pytest.fixture
def ip(transport: MemoryTransport):
    """A real IPython shell with ``%load_ext jupyter_wp5`` over the in-memory transport."""
    shell = InteractiveShell.instance()
    api.set_client(Wp5Client(transport))
    shell.run_line_magic("load_ext", "jupyter_wp5")
    yield shell
    api.set_client(None)


def wp5(ip: InteractiveShell, line: str):
    return ip.run_line_magic("wp5", line)


def error_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    err = ANSI.sub("", capsys.readouterr().err)
    return [line for line in err.splitlines() if line.strip()]


# -- parsing ------------------------------------------------------------------------------------


def test_search_arguments_parse() -> None:
    args = build_parser().parse_args(
        ["search", "cms:*DY*", "--type", "dataset", "--filter", "events>1000", "--limit", "5"]
    )
    assert (args.command, args.query, args.type, args.filter, args.limit) == (
        "search",
        "cms:*DY*",
        "dataset",
        ["events>1000"],
        5,
    )


def test_search_defaults() -> None:
    args = build_parser().parse_args(["search", "cms:*"])
    assert args.type == "collection"
    assert args.filter is None
    assert args.limit == 100


def test_files_arguments_parse() -> None:
    args = build_parser().parse_args(["files", "cms:a/b", "--rse", "SITE-A"])
    assert (args.command, args.did, args.rse) == ("files", "cms:a/b", "SITE-A")


def test_bad_arguments_raise_usage_error_naming_the_subcommand() -> None:
    with pytest.raises(UsageError, match=r"^search: .*invalid choice.*%wp5 search --help"):
        build_parser().parse_args(["search", "cms:*", "--type", "banana"])


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["", "--help", "-h"])
def test_usage_lists_every_subcommand(ip, capsys, line: str) -> None:
    assert wp5(ip, line) is None
    out = capsys.readouterr().out
    assert "usage: %wp5" in out
    for name in SUBCOMMANDS:
        assert name in out
    for name in ("search", "info", "files", "rses", "health"):
        assert name in SUBCOMMANDS


@pytest.mark.parametrize("name", ["search", "info", "files", "rses", "health"])
def test_each_subcommand_has_its_own_help(ip, capsys, name: str) -> None:
    assert wp5(ip, f"{name} --help") is None
    captured = capsys.readouterr()
    assert f"usage: %wp5 {name}" in captured.out
    assert captured.err == ""


# -- results ------------------------------------------------------------------------------------


def test_search_returns_a_table_of_records(ip, transport: MemoryTransport) -> None:
    table = wp5(ip, "search cms:*DY* --type dataset --filter events>1000 --filter run_number=1")
    assert isinstance(table, ResultTable)
    assert [r.did for r in table] == [DY.did, DY10.did]
    assert table[0].name == DY.name and len(table.items) == 2
    query = transport.catalog.queries[0][0]
    assert query.type == "dataset"
    assert query.filters == (("events", ">", "1000"), ("run_number", "=", "1"))
    text = str(table)
    assert "2 results for cms:*DY*" in text
    assert "4.0 GB" in text
    html = table._repr_html_()
    assert "<table>" in html and "DYJetsToLL_M-50_NanoAODv9" in html


def test_search_limit_says_there_is_more(ip) -> None:
    table = wp5(ip, "search cms:* --limit 2")
    assert len(table) == 2
    assert table.title.startswith("first 2 results")


def test_search_with_no_match(ip) -> None:
    table = wp5(ip, "search cms:nothing*")
    assert len(table) == 0
    assert "no matches" in str(table)


def test_info_returns_details_displayed_with_copies_and_rules(ip) -> None:
    details = wp5(ip, f"info {DY.did}")
    assert details is DY
    data, _ = ip.display_formatter.format(details)
    text = data["text/plain"]
    assert "4.0 GB in 4 files" in text
    assert "SITE-A" in text and "100%" in text
    assert "SITE-B" in text and "25%" in text
    assert "REPLICATING" in text and "1/3/0" in text
    assert "SITE-B" in data["text/html"]


def test_magics_can_be_given_their_own_client(capsys) -> None:
    shell = InteractiveShell.instance()
    magics = Wp5Magics(shell, client=Wp5Client(MemoryTransport([TT])))
    assert [r.did for r in magics.wp5("search cms:*")] == [TT.did]


def test_files_rses_and_health(ip, capsys) -> None:
    files = wp5(ip, f"files {DY.did} --rse SITE-A --limit 3")
    assert [f.name for f in files] == [f"{DY.name}/file_{i}.root" for i in range(3)]
    assert files.title == f"first 3 files of {DY.did} at SITE-A"
    rses = wp5(ip, "rses")
    assert [r.name for r in rses] == ["SITE-A", "SITE-B"]
    assert "1.0 TB" in str(rses)
    health = wp5(ip, "health")
    assert isinstance(health, Health)
    assert "41.5.1" in ip.display_formatter.format(health)[0]["text/plain"]
    assert "via memory" in capsys.readouterr().out


# -- errors are one readable line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("info cms:NoSuchDataset", "wp5: cms:NoSuchDataset does not exist"),
        ("info not-a-did", "wp5: 'not-a-did' is not a DID"),
        ("search nocolon", "wp5: 'nocolon' is not a search"),
        ("search cms:* --limit many", "wp5: search: argument --limit: expected a positive"),
        ("search cms:* --limit 0", "wp5: search: argument --limit: expected a positive"),
        ("search cms:* --filter events", "wp5: 'events' is not a filter"),
        ("frobnicate", "wp5: argument <command>: invalid choice: 'frobnicate'"),
        ("info 'cms:unbalanced", "wp5: cannot read the arguments"),
        ("info", "wp5: info: the following arguments are required: SCOPE:NAME"),
    ],
)
def test_errors_are_one_line(ip, capsys, line: str, expected: str) -> None:
    assert wp5(ip, line) is None
    lines = error_lines(capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected)
    assert "Traceback" not in lines[0]


def test_error_line_is_red(ip, capsys) -> None:
    wp5(ip, "info cms:NoSuchDataset")
    assert capsys.readouterr().err.startswith("\x1b[31mwp5: ")


# -- client -------------------------------------------------------------------------------------


def test_search_all_follows_cursors(transport: MemoryTransport, monkeypatch) -> None:
    monkeypatch.setattr(client_module, "PAGE_SIZE", 1)
    client = Wp5Client(transport)
    assert len(list(client.search_all("cms:*"))) == 3
    assert [c for _, _, c in transport.catalog.queries] == [None, "1", "2"]
    assert len(list(client.search_all("cms:*", limit=2))) == 2


def test_client_rejects_bad_input_before_sending(transport: MemoryTransport) -> None:
    client = Wp5Client(transport)
    with pytest.raises(InvalidDID):
        client.dataset("no-colon")
    with pytest.raises(InvalidRequest):
        client.search("cms:*", type="banana")
    with pytest.raises(InvalidRequest, match="positive"):
        client.search("cms:*", limit=0)
    assert transport.catalog.queries == []


def test_api_uses_the_client_set(transport: MemoryTransport) -> None:
    api.set_client(Wp5Client(transport))
    try:
        assert [d.did for d in api.search("cms:*DY*", limit=1)] == [DY.did]
        assert api.dataset(DY.did) is DY
        assert len(api.files(DY.did)) == 4
        assert api.rses()[0].name == "SITE-A"
        assert api.health().version == "0.0.0"
    finally:
        api.set_client(None)


def test_from_env_picks_the_transport() -> None:
    rest = Wp5Client.from_env({"JUPYTER_WP5_URL": "http://h:1/base", "JUPYTER_WP5_TOKEN": "t"})
    assert isinstance(rest.transport, RestTransport)
    assert rest.transport.http.url == "http://h:1/base/"
    assert rest.transport.http.session.headers["Authorization"] == "token t"
    local = Wp5Client.from_env({})
    assert isinstance(local.transport, InProcessTransport)
    local.close()


def _response(status: int, body: bytes, url: str = "http://h/wp5/api/x") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.url = url
    response.reason = "Reason"
    return response


def test_rest_errors_become_typed_errors() -> None:
    http = rest.Http("http://h/")
    err = http.error(_response(404, b'{"error": "not_found", "message": "cms:x not found"}'))
    assert isinstance(err, NotFound) and err.message == "cms:x not found"
    err = http.error(_response(404, b"<html>404</html>"))
    assert isinstance(err, NotFound) and "server extension is not enabled" in err.message
    err = http.error(_response(401, b""))
    assert isinstance(err, EngineRefused) and "did not accept this kernel's token" in err.message
    err = http.error(_response(403, b'{"message": "Forbidden"}'))
    assert isinstance(err, EngineRefused) and "does not allow this: Forbidden" in err.message
    err = http.error(_response(503, b""))
    assert isinstance(err, EngineUnavailable)


def test_rest_quotes_a_record_id_as_one_path_segment() -> None:
    assert rest.segment("a/b c") == "a%2Fb%20c"


def test_unreachable_server_is_a_clear_error() -> None:
    # A port we hold without listening: connections are refused, and no other program can
    # start listening there meanwhile.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        transport = RestTransport(f"http://127.0.0.1:{port}/", connect_timeout=2)
        with pytest.raises(EngineUnavailable, match="cannot reach the Jupyter server"):
            transport.health()


class MemoryRucioCatalog(RucioCatalog):
    """The catalogue contract, answered from memory."""

    async def search(self, query, limit=100, cursor=None):
        await asyncio.sleep(0)
        return SearchPage(str(query), [DidSummary("cms", "x", "dataset")], None)

    async def status(self):
        return EngineStatus("rucio", True)


def test_in_process_transport_works_inside_a_running_loop() -> None:
    # A kernel's main thread already runs an event loop: the transport must not need it.
    client = Wp5Client(InProcessTransport(MemoryRucioCatalog()))

    async def in_kernel() -> tuple[SearchPage, Health]:
        return client.search("cms:*"), client.health()

    try:
        page, health = asyncio.run(in_kernel())
    finally:
        client.close()
    assert page.items[0].did == "cms:x"
    assert health.engines[0].reachable


def test_sizes_and_fractions() -> None:
    assert format_bytes(None) == ""
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_500_000) == "1.5 MB"
    assert format_fraction(1.0) == "100%"
    assert format_fraction(0.9999) == "99.9%"
    assert format_fraction(0.375) == "37.5%"
