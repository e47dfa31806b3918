"""The ``%wp5`` line magic: ``%wp5 search cms:*DY*``, ``%wp5 info cms:name`` and friends.

Each subcommand is a :class:`Subcommand` in :data:`SUBCOMMANDS`: its arguments (argparse, so each
has its own ``--help``) and a handler that calls the same :class:`Wp5Client` as the Python API and
returns something that displays well. New subcommands (``replicate``, ``cluster ...``) register
with :func:`subcommand` and need no change here.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import display

from ..models import ClusterInfo, DatasetDetails, DidTypeFilter, Health, Wp5Error
from .client import Wp5Client
from .cluster import Cluster
from .current import get_client
from .display import Column, ResultTable, register_formatters
from .progress import show_widget_bars, wait

Handler = Callable[[Wp5Client, argparse.Namespace], Any]


@dataclass(frozen=True)
class Subcommand:
    """One ``%wp5`` subcommand: a name, one line of help, its arguments and its handler."""

    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Handler
    description: str | None = None


SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(
    name: str,
    help: str,
    arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
    description: str | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated ``handler(client, args)`` as ``%wp5 <name>``."""

    def register(handler: Handler) -> Handler:
        SUBCOMMANDS[name] = Subcommand(name, help, arguments, handler, description)
        return handler

    return register


# -- argparse that never exits the kernel -------------------------------------------------------


class UsageError(Exception):
    """The arguments do not parse; the message names the subcommand and the problem."""


class _HelpShown(Exception):
    """``--help`` was printed; nothing else to do."""


class _Parser(argparse.ArgumentParser):
    # argparse reports bad arguments and --help by calling sys.exit, which in a kernel would
    # surface as a SystemExit traceback; turn both into exceptions the magic handles.
    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("%wp5").strip()
        where = f"{command}: " if command else ""
        raise UsageError(f"{where}{message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _HelpShown


EXAMPLES = """\
examples:
  %wp5 search cms:*DY* --type dataset --filter events>1000
  %wp5 info cms:DYJetsToLL_M-50_NanoAODv9
  %wp5 files cms:DYJetsToLL_M-50_NanoAODv9 --rse SITE-A
  table = %wp5 search cms:*          # the result is a list of records too
  %wp5 replicate cms:DYJetsToLL_M-50_NanoAODv9 --to SITE-B --lifetime 7d --wait
  %wp5 replicate cms:DYJetsToLL_M-50_NanoAODv9 --download --wait
  %wp5 transfers
  fileset = %wp5 fileset cms:DYJetsToLL_M-50_NanoAODv9 --rse SITE-B
  %wp5 profiles
  %wp5 cluster new --profile cpu --workers 2
  %wp5 cluster scale cpu-1 4
  %wp5 cluster widget cpu-1
  %wp5 access request space:debris_catalogue_2026 --purpose "conjunction screening"
  %wp5 access list
  %wp5 access grant 3f2a... --expires 7d --rses SITE-C
  %wp5 use leonardo
  %wp5 ledger verify receipt.json
  %wp5 ledger checkpoint
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``%wp5`` parser, with one sub-parser per registered subcommand."""
    parser = _Parser(
        prog="%wp5",
        description=(
            "Find data in Rucio, copy it next to the compute and run Dask clusters,"
            " from the notebook."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    for sub in SUBCOMMANDS.values():
        sub_parser = commands.add_parser(
            sub.name, help=sub.help, description=sub.description or sub.help
        )
        sub.arguments(sub_parser)
    return parser


# -- subcommands --------------------------------------------------------------------------------

_DEFAULT_LIMIT = 100


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not '{text}'")
    return value


def _limit_arg(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=_DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N {what} (default {_DEFAULT_LIMIT})",
    )


def _search_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", metavar="SCOPE:PATTERN", help="e.g. cms:*DY* (wildcards: *)")
    parser.add_argument(
        "--type",
        choices=[t.value for t in DidTypeFilter],
        default=DidTypeFilter.COLLECTION.value,
        help="what to look for (default: collection, i.e. datasets and containers)",
    )
    parser.add_argument(
        "--filter",
        action="append",
        metavar="KEY<OP>VALUE",
        help="metadata filter, e.g. events>1000 or datatype=NANOAOD; repeat to combine",
    )
    _limit_arg(parser, "results")


def _first(items: list[Any], limit: int) -> tuple[list[Any], bool]:
    """Trim a list fetched with ``limit + 1`` items, telling whether there were more."""
    return items[:limit], len(items) > limit


@subcommand("search", "search the catalogue by scope:pattern, type and metadata", _search_args)
def _search(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    items, more = _first(
        list(client.search_all(args.query, args.type, args.filter, limit=args.limit + 1)),
        args.limit,
    )
    shown = f"first {len(items)} results" if more else _count(len(items), "result")
    hint = " (use --limit to see more)" if more else ""
    return ResultTable(items, title=f"{shown} for {args.query}{hint}", empty="no matches")


def _did_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("did", metavar="SCOPE:NAME", help="the dataset or container")


@subcommand(
    "info",
    "size, file count, copies per storage element and rules of a dataset",
    _did_arg,
)
def _info(client: Wp5Client, args: argparse.Namespace) -> DatasetDetails:
    return client.dataset(args.did)


def _files_args(parser: argparse.ArgumentParser) -> None:
    _did_arg(parser)
    parser.add_argument("--rse", metavar="RSE", help="only the replica state at this RSE")
    _limit_arg(parser, "files")


@subcommand("files", "the files of a dataset and their state at each storage element", _files_args)
def _files(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    items, more = _first(
        list(client.files_all(args.did, args.rse, limit=args.limit + 1)), args.limit
    )
    shown = f"first {len(items)} files" if more else _count(len(items), "file")
    where = f" at {args.rse}" if args.rse else ""
    return ResultTable(items, title=f"{shown} of {args.did}{where}", empty="no files")


def _replicate_args(parser: argparse.ArgumentParser) -> None:
    _did_arg(parser)
    parser.add_argument(
        "--to",
        metavar="RSE",
        help="where the copy goes (an RSE expression; after %%wp5 use, default: the "
        "community's first storage element)",
    )
    parser.add_argument("--lifetime", metavar="DURATION", help="e.g. 7d or 12h (default: none)")
    parser.add_argument("--comment", help="a note kept with the request")
    parser.add_argument(
        "--download",
        action="store_true",
        help="download into your scratch directory instead (--to then picks the source)",
    )
    parser.add_argument("--wait", action="store_true", help="show progress until it is done")


@subcommand(
    "replicate",
    "ask for a copy of a dataset at a storage element, or download it to scratch",
    _replicate_args,
)
def _replicate(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    if not args.to and not args.download and not (client.community and client.community["rses"]):
        raise UsageError(
            "replicate: give --to RSE, or --download for your scratch directory, or first "
            "%wp5 use COMMUNITY for its storage element"
        )
    made = client.replicate(args.did, args.to, args.lifetime, args.comment, args.download)
    where = "your scratch directory" if args.download else made.rse_expression
    print(f"requested {args.did} at {where} (id {made.id})")
    if args.wait:
        made = wait(lambda: client.transfer(made.id), made)
        if made.paths:
            print(f"{_count(len(made.paths), 'file')} in {made.paths[0].rsplit('/', 1)[0]}")
    return ResultTable([made])


@subcommand("transfers", "your copy requests and downloads, with their progress")
def _transfers(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    items = client.transfers()
    show_widget_bars(items)
    return ResultTable(items, title=_count(len(items), "request"), empty="no requests")


def _fileset_args(parser: argparse.ArgumentParser) -> None:
    _did_arg(parser)
    parser.add_argument("--rse", required=True, help="the storage element whose copy to read")
    parser.add_argument("--protocol", help="URL scheme, e.g. root (default: the RSE's own)")
    parser.add_argument(
        "--allow-partial", action="store_true", help="take the files present, even if incomplete"
    )


@subcommand(
    "fileset", "a coffea fileset of a dataset's replica URLs at a storage element", _fileset_args
)
def _fileset(client: Wp5Client, args: argparse.Namespace) -> dict[str, Any]:
    fileset = client.fileset(args.did, args.rse, args.protocol, args.allow_partial)
    return fileset.to_dict()


@subcommand("rses", "the storage elements (RSEs) you may use, with your quota")
def _rses(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    items = client.rses()
    return ResultTable(items, title=_count(len(items), "storage element"))


@subcommand("health", "versions, and whether Rucio and the other engines answer")
def _health(client: Wp5Client, args: argparse.Namespace) -> Health:
    print(f"via {client.transport.describe_location()}")
    return client.health()


@subcommand("profiles", "the compute profiles (cpu, gpu, arm, ...) and whether each runs here")
def _profiles(client: Wp5Client, args: argparse.Namespace) -> ResultTable[Any]:
    items = client.profiles()
    return ResultTable(items, title=_count(len(items), "profile"), empty="no profiles")


def _cluster_args(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="<action>", title="actions")
    actions.required = True
    new = actions.add_parser("new", help="start a cluster", description="start a Dask cluster")
    new.add_argument("--profile", default="cpu", help="the profile (see %%wp5 profiles)")
    new.add_argument("--workers", type=_whole, metavar="N", help="a fixed number of workers")
    new.add_argument("--adapt", nargs=2, type=_whole, metavar=("MIN", "MAX"), help="adaptive")
    new.add_argument("--name", help="a name to find it again (default: <profile>-<n>)")
    actions.add_parser("list", help="the open clusters", description="the open clusters")
    scale = actions.add_parser("scale", help="set the number of workers")
    scale.add_argument("cluster", metavar="ID|NAME")
    scale.add_argument("workers", type=_whole, metavar="N")
    adapt = actions.add_parser("adapt", help="grow and shrink between MIN and MAX workers")
    adapt.add_argument("cluster", metavar="ID|NAME")
    adapt.add_argument("minimum", type=_whole, metavar="MIN")
    adapt.add_argument("maximum", type=_whole, metavar="MAX")
    close = actions.add_parser("close", help="close a cluster and end its processes")
    close.add_argument("cluster", metavar="ID|NAME")
    widget = actions.add_parser("widget", help="controls to create, or scale and close, a cluster")
    widget.add_argument("cluster", nargs="?", metavar="ID|NAME", help="default: create one")


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number, not '{text}'")
    return value


@subcommand("cluster", "start, list, scale and close Dask clusters", _cluster_args)
def _cluster(client: Wp5Client, args: argparse.Namespace) -> Any:
    if args.action == "new":
        if args.workers is not None and args.adapt:
            raise UsageError("cluster new: give --workers or --adapt, not both")
        low, high = args.adapt or (None, None)
        info = client.new_cluster(args.profile, args.workers, low, high, args.name)
        print(
            f"started {info.name} (id {info.id}): use jupyter_wp5.cluster({info.name!r})"
            ".get_client()"
        )
        return ResultTable([info])
    if args.action == "list":
        items: list[ClusterInfo] = client.clusters()
        return ResultTable(items, title=_count(len(items), "open cluster"), empty="no clusters")
    if args.action == "scale":
        return ResultTable([client.scale_cluster(args.cluster, args.workers)])
    if args.action == "adapt":
        return ResultTable([client.adapt_cluster(args.cluster, args.minimum, args.maximum)])
    if args.action == "widget":
        from .widgets import ClusterControl

        found = Cluster(client.cluster(args.cluster), client) if args.cluster else None
        return ClusterControl(client, found)
    client.close_cluster(args.cluster)
    print(f"closed {args.cluster}")
    return None


# -- communities, access and the ledger -----------------------------------------------------------


def _field(name: str, header: str | None = None) -> Column:
    return Column(header or name, lambda r: _cell(r.get(name)))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(value) or "anywhere"
    return str(value)


ACCESS_COLUMNS = [
    _field("id"),
    _field("did", "dataset"),
    _field("requester"),
    _field("status"),
    _field("steward"),
    _field("expires"),
    _field("rses", "at"),
    _field("requested"),
]


def _access_args(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="<action>", title="actions")
    actions.required = True
    request = actions.add_parser(
        "request",
        help="ask a community's stewards for access to its data",
        description="Ask the stewards of the community that owns SCOPE for access to a dataset. "
        "The ledger keeps only a salted hash of the purpose; the salt is shown to you, keep it "
        "with the text.",
    )
    _did_arg(request)
    request.add_argument("--purpose", required=True, help="what the data is for")
    actions.add_parser(
        "list",
        help="your requests, and those waiting for you as a steward",
        description="your access requests, and the requests on the data you steward",
    )
    grant = actions.add_parser(
        "grant", help="grant a pending request (stewards)", description="grant a pending request"
    )
    grant.add_argument("id", help="the request's id (see %%wp5 access list)")
    grant.add_argument(
        "--expires",
        default="30d",
        help="a duration from now (7d, 12h) or an RFC 3339 time (default: 30d)",
    )
    grant.add_argument(
        "--rses", nargs="+", metavar="RSE", help="allow copies only at these storage elements"
    )
    for name, what in (("deny", "deny a pending request"), ("revoke", "revoke a grant")):
        decide = actions.add_parser(name, help=f"{what} (stewards)", description=what)
        decide.add_argument("id", help="the request's id (see %%wp5 access list)")
        decide.add_argument("--reason", default="", help="the ledger keeps only its salted hash")


@subcommand(
    "access",
    "ask for access to another community's data; stewards grant, deny and revoke",
    _access_args,
)
def _access(client: Wp5Client, args: argparse.Namespace) -> Any:
    if args.action == "list":
        view = client.access_overview()
        communities = ", ".join(view["communities"]) or "no community"
        print(f"account {view['account']} ({communities})")
        mine = ResultTable(
            view["mine"],
            f"{_count(len(view['mine']), 'request')} of yours",
            ACCESS_COLUMNS,
            empty="no requests of yours",
        )
        if not view["stewarded"]:
            return mine
        display(mine)
        waiting = [r for r in view["stewarded"] if r["status"] == "pending"]
        title = (
            f"{_count(len(view['stewarded']), 'request')} on data you steward, "
            f"{len(waiting)} waiting for you"
        )
        return ResultTable(view["stewarded"], title, ACCESS_COLUMNS)
    if args.action == "request":
        outcome = client.request_access(args.did, args.purpose)
        record = outcome["request"]
        print(
            f"asked for access to {record['did']} (request {record['id']}, pending); keep the "
            f"purpose's salt {outcome['purpose_salt']} with its text"
        )
        return ResultTable([record], columns=ACCESS_COLUMNS)
    if args.action == "grant":
        outcome = client.grant_access(args.id, args.expires, args.rses)
        record = outcome["request"]
        where = f" at {', '.join(record['rses'])}" if record["rses"] else ""
        print(f"granted {record['did']} to {record['requester']} until {record['expires']}{where}")
    else:
        decide = client.deny_access if args.action == "deny" else client.revoke_access
        outcome = decide(args.id, args.reason)
        record = outcome["request"]
        print(f"{record['status']} request {record['id']} of {record['requester']}")
        if outcome.get("rules_removed"):
            print(f"ended {_count(len(outcome['rules_removed']), 'rule')} made under it")
    if outcome.get("ledger_index") is not None:
        print(f"ledger entry {outcome['ledger_index']}")
    return ResultTable([record], columns=ACCESS_COLUMNS)


def _use_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("community", help="e.g. inaf or leonardo (see jupyter_wp5.communities())")


@subcommand(
    "use",
    "work as a community: its scopes for bare search patterns, its storage element for copies",
    _use_args,
    description="Work as COMMUNITY in this kernel. Afterwards `%%wp5 search PATTERN` (no scope:) "
    "searches the community's scopes and the scopes you hold a live grant on, and "
    "`%%wp5 replicate DID` without --to copies to the community's first storage element. "
    "Nothing changes in Rucio or for other kernels; your account must belong to COMMUNITY.",
)
def _use(client: Wp5Client, args: argparse.Namespace) -> None:
    community = client.use(args.community)
    scopes = ", ".join(client.searchable_scopes()) or "none yet (ask for access)"
    rse = community["rses"][0] if community["rses"] else "none (give --to)"
    print(
        f"using community {community['name']}: bare search patterns search {scopes}; "
        f"copies go to {rse} unless --to says otherwise"
    )


def _ledger_args(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="<action>", title="actions")
    actions.required = True
    check = actions.add_parser(
        "verify",
        help="verify receipts offline",
        description="Verify receipt files offline: the entry's inclusion proof against the "
        "checkpoint, and the signatures of the log operator and both witnesses.",
    )
    check.add_argument("receipts", nargs="+", metavar="RECEIPT.json")
    check.add_argument(
        "--keys",
        metavar="FILE",
        help="trusted verifier keys, one a line (default: the keys in each receipt, which only "
        "shows it is self-consistent)",
    )
    latest = actions.add_parser(
        "checkpoint",
        help="the ledger's latest checkpoint, verified",
        description="The access ledger's latest cosigned checkpoint, verified against the keys "
        "the log publishes, or the trusted ones in --keys.",
    )
    latest.add_argument("--keys", metavar="FILE", help="trusted verifier keys, one a line")
    receipt = actions.add_parser(
        "receipt",
        help="save the receipt of a ledger entry, or those of a copy or download",
        description="Fetch the receipt of a ledger entry (an outcome's index) and save it as a "
        "JSON file; given a copy's or download's id (as %%wp5 transfers shows it), save one "
        "receipt-<index>.json per entry it made (rule made, copy complete, each downloaded file).",
    )
    receipt.add_argument("entry", metavar="INDEX|TRANSFER", help="a ledger index or a request id")
    where = "a file for one entry (default: receipt-<index>.json), a folder for a transfer's"
    receipt.add_argument("--out", metavar="PATH", help=where)


def _trusted(path: str | None) -> list[str] | None:
    if path is None:
        return None
    try:
        with open(path) as fh:
            return [line.strip() for line in fh if line.strip()]
    except OSError as err:
        raise UsageError(f"ledger verify: cannot read --keys {path}: {err.strerror}") from None


def _save_receipts(client: Wp5Client, entry: str, out: str | None) -> None:
    if entry.isdigit():
        path = Path(out or f"receipt-{entry}.json")
        path.write_text(json.dumps(client.receipt(int(entry)), indent=2))
        print(f"saved the receipt of ledger entry {entry} to {path}")
        return
    receipts = client.receipts(entry)
    if not receipts:
        print(f"{entry} has no ledger entries (this server reports to no ledger)")
        return
    folder = Path(out or ".")
    folder.mkdir(parents=True, exist_ok=True)
    for receipt in receipts:
        path = folder / f"receipt-{receipt['leaf_index']}.json"
        path.write_text(json.dumps(receipt, indent=2))
        print(f"saved the receipt of ledger entry {receipt['leaf_index']} to {path}")


@subcommand("ledger", "verify ledger receipts, see the latest checkpoint", _ledger_args)
def _ledger(client: Wp5Client, args: argparse.Namespace) -> Any:
    from ..ledger import ReceiptError, verify, verify_checkpoint

    if args.action == "verify":
        keys = _trusted(args.keys)
        for path in args.receipts:
            try:
                print(f"OK {path}: {verify(path, trusted_keys=keys).summary()}")
            except ReceiptError as err:
                show_error(f"FAILED {path}: {err}")
        return None
    if args.action == "receipt":
        _save_receipts(client, args.entry, args.out)
        return None
    latest = client.ledger_checkpoint()
    if latest["checkpoint"] is None:
        print("the ledger has no checkpoint yet")
        return None
    try:
        keys = _trusted(args.keys) or latest["verifier_keys"]
        checkpoint, operator, witnesses = verify_checkpoint(latest["checkpoint"], keys)
    except ReceiptError as err:
        show_error(f"checkpoint FAILED: {err}")
        return None
    print(
        f"verified: {checkpoint.origin} at size {checkpoint.size}, signed by {operator} and "
        f"cosigned by {', '.join(witnesses)}"
    )
    print(latest["checkpoint"])
    return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# -- the magic ----------------------------------------------------------------------------------


def show_error(message: str) -> None:
    """One red line on stderr: the user reads it, nobody needs a traceback."""
    text = " ".join(message.split())
    sys.stderr.write(f"\x1b[31mwp5: {text}\x1b[0m\n")


@magics_class
class Wp5Magics(Magics):
    """``%wp5 <command> ...``; ``%wp5 --help`` lists the commands.

    Parameters
    ----------
    shell
        The IPython shell.
    client
        The client to use; by default the Python API's (see ``jupyter_wp5.api.set_client``).
    """

    def __init__(self, shell: Any = None, client: Wp5Client | None = None) -> None:
        super().__init__(shell)
        self._client = client

    @property
    def client(self) -> Wp5Client:
        if self._client is not None:
            return self._client
        return get_client()

    @line_magic
    def wp5(self, line: str = "") -> Any:
        """Find data in Rucio and see where its copies are; ``%wp5 --help`` for the commands."""
        parser = build_parser()
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            show_error(f"cannot read the arguments: {exc}")
            return None
        if not argv:
            parser.print_help()
            return None
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            show_error(str(exc))
            return None
        except (_HelpShown, SystemExit):
            return None
        if args.command is None:
            parser.print_help()
            return None
        try:
            return SUBCOMMANDS[args.command].run(self.client, args)
        except UsageError as exc:
            show_error(str(exc))
            return None
        except Wp5Error as err:
            show_error(err.message)
            return None


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_wp5``: register ``%wp5`` and the record formatters."""
    ipython.register_magics(Wp5Magics(ipython))
    register_formatters(ipython)
