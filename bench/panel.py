"""B6 panel: time to the first rows, and to all rows, of a 10,000-row search in headless Chromium,
and the size of the built JavaScript bundle against rucio-jupyterlab's and dask-labextension's.

The render runs ui-tests/bench/render.spec.ts (Galata, Debian Chromium) against
``jupyter wp5 playground`` started on the benchmark's playground with its lab; the search is the
catalogue-only scope's 10,000-file dataset, so it needs ``--scale medium`` or ``large``. The other
bundles are measured from their PyPI packages, fetched by pip into a temporary directory (nothing is
installed); when pip cannot fetch them, the sizes quoted in issue 9 are used and the row says so.
Ours is what jupyter_wp5/labextension/static holds: build it with ``jlpm build:prod`` (as the
wheel is) before measuring: a development build is about three times the size.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from .common import Result, not_run

REPO = Path(__file__).resolve().parents[1]
UI_TESTS = REPO / "ui-tests"
OURS = REPO / "jupyter_wp5" / "labextension" / "static"
# Issue 9's figures, used when the wheels cannot be fetched.
QUOTED_KB = {"rucio-jupyterlab": 372.0, "dask-labextension": 51.0}
WHEELS = {"rucio-jupyterlab": "41.0.0", "dask-labextension": "7.0.0"}
_READY = "wp5 playground ready"
_ROWS = 10_000


def b6(root: Path, info: Any, smoke: bool) -> list[Result]:
    """The render rows (or why not) and one bundle row per compared extension."""
    return [*_render(root, info, smoke), *_bundles(smoke)]


# -- bundle size -----------------------------------------------------------------------------


def _bundles(smoke: bool) -> list[Result]:
    ours = _js_kb(p.name for p in OURS.glob("*.js")) if OURS.is_dir() else None
    if ours is None:
        return [_bundle_not_run(name, "the lab extension is not built") for name in WHEELS]
    others, how = ({}, "smoke: the wheels are not fetched") if smoke else _fetch_wheels()
    results = []
    for name, quoted in QUOTED_KB.items():
        measured = others.get(name)
        results.append(
            Result(
                "B6c" if name == "rucio-jupyterlab" else "B6d",
                "panel: built JavaScript bundle (all static/*.js)",
                f"{name} {WHEELS[name]}",
                ours=ours[0],
                base=measured if measured is not None else quoted,
                unit="KB",
                notes=f"measured from its PyPI package ({how})"
                if measured is not None
                else f"issue 9's figure ({how})",
            )
        )
    return results


def _bundle_not_run(name: str, reason: str) -> Result:
    return not_run("B6c" if name == "rucio-jupyterlab" else "B6d", "panel bundle", name, reason)


def _js_kb(names: Any, sizes: dict[str, int] | None = None) -> tuple[float, int]:
    """Total size in KB (1,000 bytes) and count of the given static files."""
    total = count = 0
    for name in names:
        total += sizes[name] if sizes is not None else (OURS / name).stat().st_size
        count += 1
    return total / 1000, count


def _fetch_wheels() -> tuple[dict[str, float], str]:
    """Each package's labextension static/*.js in KB; what happened, in words. rucio-jupyterlab
    41 is an sdist on PyPI (its built extension is inside it), dask-labextension a wheel."""
    sizes: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="wp5-bench-wheels-") as tmp:
        for name, version in WHEELS.items():
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp]
            try:
                subprocess.run(
                    [*cmd, f"{name}=={version}"], check=True, timeout=300, capture_output=True
                )
            except (subprocess.SubprocessError, OSError) as err:
                return sizes, f"pip could not fetch {name}: {type(err).__name__}"
        for path in Path(tmp).iterdir():
            name = path.name.split("-")[0].replace("_", "-")
            js = _archive_js(path)
            sizes[name] = _js_kb(js, js)[0]
    return sizes, "pip download at bench time"


def _archive_js(path: Path) -> dict[str, int]:
    """The built extension's static/*.js in a wheel or an sdist, with their sizes."""

    def wanted(member: str) -> bool:
        return "labextension" in member and "/static/" in member and member.endswith(".js")

    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            return {i.filename: i.file_size for i in z.infolist() if wanted(i.filename)}
    with tarfile.open(path) as t:
        return {m.name: m.size for m in t.getmembers() if m.isfile() and wanted(m.name)}


# -- render ----------------------------------------------------------------------------------


def _render(root: Path, info: Any, smoke: bool) -> list[Result]:
    what = f"panel: first rows of a {_ROWS:,}-row search, headless Chromium"
    reason = _cannot_render(info, smoke)
    if reason:
        return [not_run("B6a", what, "none (no other panel pages a search)", reason)]
    out = Path(tempfile.mkdtemp(prefix="wp5-bench-render-")) / "render.json"
    query = f"{info.catalogue['scope']}:big.*"
    with _lab(root) as (url, token):
        env = {
            **os.environ,
            "WP5_LAB_URL": url,
            "WP5_TOKEN": token,
            "WP5_BENCH_QUERY": query,
            "WP5_BENCH_ROWS": str(_ROWS),
            "WP5_BENCH_OUT": str(out),
        }
        cmd = ["jlpm", "playwright", "test", "-c", "bench.config.js"]
        subprocess.run(cmd, cwd=UI_TESTS, env=env, check=True, timeout=600)
    measured = json.loads(out.read_text())
    extra = {"query": query, "dom_rows": measured["dom_rows"]}
    return [
        Result("B6a", what, "-", ours=measured["first_rows_s"], extra=extra),
        Result(
            "B6b",
            f"panel: all {_ROWS:,} rows paged in by scrolling, headless Chromium",
            "-",
            ours=measured["all_rows_s"],
            notes=f"{measured['dom_rows']} rows in the DOM at the end (windowed list)",
            extra=extra,
        ),
    ]


def _cannot_render(info: Any, smoke: bool) -> str | None:
    if smoke:
        return "smoke: no browser run (needs --scale medium data and minutes)"
    if not info.catalogue:
        return "needs the catalogue-only scope of --scale medium or large"
    if not (UI_TESTS / "node_modules" / "@jupyterlab" / "galata").is_dir():
        return "ui-tests/node_modules is not installed (cd ui-tests && jlpm install)"
    chromium = os.environ.get("WP5_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() or shutil.which("jlpm") is None:
        return f"needs {chromium} and jlpm"
    return None


class _lab:
    """``jupyter wp5 playground`` with its lab on ``root``, as ui-tests/run.sh starts it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> tuple[str, str]:
        from jupyter_wp5.playground.processes import free_ports

        port = free_ports(1)[0]
        log = self.root / "logs" / "bench-lab.log"
        env = {**os.environ, "JUPYTER_CONFIG_PATH": str(UI_TESTS / "jupyter-config")}
        cmd = [sys.executable, "-m", "jupyter_wp5.cli", "playground", "--root", str(self.root)]
        cmd += ["--port", str(port), "--token", self.token]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while _READY not in log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the playground's lab did not start; see {log}")
            time.sleep(1)
        return f"http://127.0.0.1:{port}/lab", self.token

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
