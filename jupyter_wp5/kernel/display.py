"""Tables for the kernel: HTML in notebooks, aligned plain text in terminals.

:class:`ResultTable` wraps a list of records so a magic's result both displays well and stays a
normal sequence. Records that stand alone (:class:`DatasetDetails`, :class:`Health`) get IPython
formatters instead, so the record itself is returned and displayed.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from ..models import (
    ClusterInfo,
    DatasetDetails,
    DidSummary,
    EngineStatus,
    FileEntry,
    Health,
    ProfileInfo,
    ReplicaProgress,
    RuleSummary,
    SiteCopy,
    StorageElement,
)

T = TypeVar("T")

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def format_bytes(n: int | None) -> str:
    """Decimal units, as storage systems and Rucio report them: ``1.5 GB``."""
    if n is None:
        return ""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def format_fraction(f: float) -> str:
    """A percentage that says 100% only when complete (rounded down to 0.1%)."""
    return f"{math.floor(f * 1000 + 1e-9) / 10:g}%"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Column:
    """One column: a header, how to get the cell's text from a record, and its alignment."""

    header: str
    get: Callable[[Any], str]
    right: bool = False


def _attr(name: str, right: bool = False, header: str | None = None) -> Column:
    return Column(header or name, lambda r: _text(getattr(r, name)), right)


def _size(name: str = "bytes", header: str = "size") -> Column:
    return Column(header, lambda r: format_bytes(getattr(r, name)), right=True)


def _binary_size(n: int | None) -> str:
    """Memory in binary units, as Dask reports it: ``2.0 GiB``."""
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _resources(r: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in sorted(r.items()))


def format_architectures(architectures: dict[str, int]) -> str:
    """Workers per architecture, most first: ``x86_64: 2, aarch64: 1`` (empty when unknown)."""
    ranked = sorted(architectures.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{arch}: {n}" for arch, n in ranked)


def _adaptive(c: ClusterInfo) -> str:
    if c.adaptive_maximum is None:
        return ""
    return f"{c.adaptive_minimum}..{c.adaptive_maximum}"


def _states(entry: FileEntry) -> str:
    return ", ".join(f"{rse}: {state}" for rse, state in sorted(entry.states.items()))


def _locks(rule: RuleSummary) -> str:
    return f"{rule.locks_ok}/{rule.locks_replicating}/{rule.locks_stuck}"


COLUMNS: dict[type, list[Column]] = {
    DidSummary: [_attr("did", header="DID"), _attr("type"), _attr("files", True), _size()],
    FileEntry: [_attr("name"), _size(), _attr("adler32"), Column("replicas", _states)],
    StorageElement: [
        _attr("name", header="RSE"),
        _attr("rse_type", header="type"),
        _attr("availability_read", header="read"),
        _attr("availability_write", header="write"),
        _size("used_bytes", "used"),
        _size("quota_bytes", "quota"),
    ],
    SiteCopy: [
        _attr("rse", header="RSE"),
        Column("files", lambda c: f"{c.available_files}/{c.total_files}", right=True),
        Column(
            "size",
            lambda c: f"{format_bytes(c.available_bytes)} / {format_bytes(c.total_bytes)}",
            right=True,
        ),
        Column("available", lambda c: format_fraction(c.fraction), right=True),
    ],
    RuleSummary: [
        _attr("id"),
        _attr("account"),
        _attr("rse_expression", header="expression"),
        _attr("state"),
        _attr("copies", True),
        Column("locks ok/repl/stuck", _locks, right=True),
        _attr("expires_at", header="expires"),
    ],
    ClusterInfo: [
        _attr("id"),
        _attr("name"),
        _attr("profile"),
        _attr("status"),
        _attr("workers", True),
        Column("architectures", lambda c: format_architectures(c.architectures)),
        _attr("cores", True),
        Column("memory", lambda c: _binary_size(c.memory), right=True),
        _attr("gpus", True),
        Column("adaptive", _adaptive),
        _attr("scheduler_address", header="scheduler"),
        _attr("dashboard_link", header="dashboard"),
    ],
    ProfileInfo: [
        _attr("name", header="profile"),
        _attr("label"),
        _attr("worker_cores", True, header="cores/worker"),
        Column("memory/worker", lambda p: _binary_size(p.worker_memory), right=True),
        Column("resources", lambda p: _resources(p.resources)),
        _attr("arch"),
        _attr("max_workers", True, header="max workers"),
        _attr("servable", header="here"),
        _attr("reason"),
    ],
    ReplicaProgress: [
        _attr("id"),
        _attr("did", header="DID"),
        _attr("mode"),
        Column("to", lambda p: p.rse_expression or ("scratch" if p.mode == "download" else "")),
        _attr("state"),
        Column("files", lambda p: f"{p.files_ok}/{p.files_total}", right=True),
        Column("done", lambda p: format_fraction(p.fraction), right=True),
        _size("bytes_total"),
        _attr("created_at", header="created"),
        _attr("error"),
    ],
    EngineStatus: [
        _attr("name", header="engine"),
        _attr("reachable"),
        _attr("version"),
        _attr("account"),
        _attr("url"),
        _attr("message"),
        _attr("checked_at", header="checked"),
    ],
}


def columns_for(items: Sequence[Any]) -> list[Column]:
    """The registered columns for the records' type, else one column of ``str(item)``."""
    if items:
        for cls in type(items[0]).__mro__:
            if cls in COLUMNS:
                return COLUMNS[cls]
    return [Column("value", _text)]


class ResultTable(Sequence[T], Generic[T]):
    """A list of records that displays as a table.

    Parameters
    ----------
    items
        The records; kept as they are, in ``.items``.
    title
        A line shown above the table (e.g. how many results a search gave).
    columns
        Which columns to show; by default those registered for the records' type.
    empty
        What to show when there are no records.
    """

    def __init__(
        self,
        items: Iterable[T],
        title: str | None = None,
        columns: list[Column] | None = None,
        empty: str = "nothing to show",
    ) -> None:
        self.items: list[T] = list(items)
        self.title = title
        self.columns = columns if columns is not None else columns_for(self.items)
        self.empty = empty

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ResultTable):
            return self.items == other.items
        return self.items == other

    __hash__ = None  # type: ignore[assignment]  # mutable, like the list it wraps

    def rows(self) -> list[list[str]]:
        """The cells as text, one list per record."""
        return [[c.get(item) for c in self.columns] for item in self.items]

    def to_text(self) -> str:
        """Aligned plain-text columns, for terminals and logs."""
        lines = [self.title] if self.title else []
        if not self.items:
            return "\n".join([*lines, self.empty])
        rows = self.rows()
        headers = [c.header for c in self.columns]
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

        def line(cells: list[str]) -> str:
            parts = [
                cell.rjust(w) if col.right else cell.ljust(w)
                for cell, w, col in zip(cells, widths, self.columns, strict=True)
            ]
            return "  ".join(parts).rstrip()

        lines += [line(headers), "  ".join("-" * w for w in widths)]
        lines += [line(r) for r in rows]
        return "\n".join(lines)

    def to_html(self) -> str:
        """An HTML table, for notebooks."""
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        if not self.items:
            return f'<div class="wp5-table">{title}<p>{html.escape(self.empty)}</p></div>'

        def cell(tag: str, text: str, col: Column) -> str:
            align = "right" if col.right else "left"
            return f'<{tag} style="text-align:{align}">{html.escape(text)}</{tag}>'

        head = "".join(cell("th", c.header, c) for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(cell("td", t, c) for t, c in zip(r, self.columns, strict=True))
            + "</tr>"
            for r in self.rows()
        )
        return (
            f'<div class="wp5-table">{title}<table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>"
        )

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_text())


# -- single records ----------------------------------------------------------------------------


def _dataset_sections(d: DatasetDetails) -> tuple[str, str, list[ResultTable[Any]]]:
    title = f"{d.did} ({d.type})"
    files = "?" if d.files is None else str(d.files)
    summary = f"{format_bytes(d.bytes) or '? B'} in {files} files"
    tables: list[ResultTable[Any]] = [
        ResultTable(d.copies, title="copies", empty="no copies at any storage element"),
        ResultTable(d.rules, title="rules", empty="no replication rules"),
    ]
    if d.metadata:
        meta = [(k, _text(v)) for k, v in sorted(d.metadata.items())]
        tables.append(
            ResultTable(
                meta,
                title="metadata",
                columns=[Column("key", lambda kv: kv[0]), Column("value", lambda kv: kv[1])],
            )
        )
    return title, summary, tables


def dataset_text(d: DatasetDetails) -> str:
    """A dataset's size, files, copies per storage element and rules, as text."""
    title, summary, tables = _dataset_sections(d)
    return "\n\n".join([f"{title}\n{summary}", *(t.to_text() for t in tables)])


def dataset_html(d: DatasetDetails) -> str:
    """The same, as HTML."""
    title, summary, tables = _dataset_sections(d)
    head = f"<h4>{html.escape(title)}</h4><p>{html.escape(summary)}</p>"
    return '<div class="wp5-dataset">' + head + "".join(t.to_html() for t in tables) + "</div>"


def _health_table(h: Health) -> ResultTable[EngineStatus]:
    return ResultTable(h.engines, title=f"jupyter-wp5 {h.version}", empty="no engines")


def health_text(h: Health) -> str:
    """Versions and engine reachability, as text."""
    return _health_table(h).to_text()


def health_html(h: Health) -> str:
    """The same, as HTML."""
    return _health_table(h).to_html()


_RENDERERS: dict[type, tuple[Callable[[Any], str], Callable[[Any], str]]] = {
    DatasetDetails: (dataset_text, dataset_html),
    Health: (health_text, health_html),
}


def register_formatters(ip: Any) -> None:
    """Teach an IPython shell to display the single records as text and HTML."""
    formatters = ip.display_formatter.formatters
    for cls, (to_text, to_html) in _RENDERERS.items():

        def pretty(obj: Any, p: Any, cycle: bool, to_text: Callable[[Any], str] = to_text) -> None:
            p.text(to_text(obj))

        formatters["text/plain"].for_type(cls, pretty)
        formatters["text/html"].for_type(cls, to_html)
