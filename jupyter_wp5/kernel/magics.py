"""The ``%wp5`` line magic: ``%wp5 search cms:*DY*``, ``%wp5 info cms:name`` and friends.

Each subcommand is a :class:`Subcommand` in :data:`SUBCOMMANDS`: its arguments (argparse, so each
has its own ``--help``) and a handler that calls the same :class:`Wp5Client` as the Python API and
returns something that displays well. New subcommands (``replicate``, ``cluster ...``) register
with :func:`subcommand` and need no change here.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from IPython.core.magic import Magics, line_magic, magics_class

from ..models import ClusterInfo, DatasetDetails, DidTypeFilter, Health, Wp5Error
from .client import Wp5Client
from .cluster import Cluster
from .current import get_client
from .display import ResultTable, register_formatters
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
    parser.add_argument("--to", metavar="RSE", help="where the copy goes (an RSE expression)")
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
    if not args.to and not args.download:
        raise UsageError("replicate: give --to RSE, or --download for your scratch directory")
    made = client.replicate(args.did, args.to, args.lifetime, args.comment, args.download)
    where = "your scratch directory" if args.download else args.to
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
