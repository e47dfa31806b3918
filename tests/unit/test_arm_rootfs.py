"""The aarch64 tree's manifest: a partial or corrupted tree is detected and prepared again."""

from __future__ import annotations

import pytest

from jupyter_wp5.compute.arm_rootfs import (
    PREPARE_COMMAND,
    REQUIRED,
    ArmRootfs,
    host_version,
    qemu_binary,
    write_manifest,
)

needs_qemu = pytest.mark.skipif(qemu_binary() is None, reason="qemu-user-static not installed")


def small_tree(path, versions=None):
    """A tree shaped like a prepared one (interpreter path, a module, a symlink)."""
    (path / "usr/bin").mkdir(parents=True)
    (path / "usr/bin/python3.11").write_bytes(b"\x7fELF not really")
    site = path / "opt/wp5/site-packages/dask"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("version = 1\n")
    (path / "usr/bin/python3").symlink_to("python3.11")
    packages = versions or {p: host_version(p) for p in REQUIRED}
    write_manifest(path, packages)
    return ArmRootfs(path)


def test_an_intact_tree_verifies(tmp_path):
    assert small_tree(tmp_path).verify() == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: (t / "opt/wp5/site-packages/dask/__init__.py").write_text("version = 2\n"),
        lambda t: (t / "opt/wp5/site-packages/dask/__init__.py").unlink(),
        lambda t: (t / "usr/bin/python3.11").write_bytes(b"\x7fELF"),
        lambda t: ((t / "usr/bin/python3").unlink(), (t / "usr/bin/python3").symlink_to("x")),
    ],
    ids=["same-size-edit", "missing-file", "truncated", "relinked"],
)
def test_a_changed_or_missing_file_is_found(tmp_path, damage):
    rootfs = small_tree(tmp_path)
    damage(tmp_path)
    assert len(rootfs.verify()) == 1


def test_no_manifest_means_not_prepared(tmp_path):
    rootfs = small_tree(tmp_path)
    rootfs.manifest_path.write_text("{half a manifest")
    assert rootfs.verify() == ["wp5-manifest.json"]
    assert PREPARE_COMMAND in rootfs.why_not_ready()


@needs_qemu
def test_a_tree_for_another_dask_is_not_ready(tmp_path):
    rootfs = small_tree(tmp_path, {"dask": "2000.1.0", "distributed": "2000.1.0"})
    reason = rootfs.why_not_ready()
    assert "2000.1.0" in reason and host_version("dask") in reason and PREPARE_COMMAND in reason
    assert small_tree(tmp_path / "current").why_not_ready() is None


class Recorded(ArmRootfs):
    """The real checks; the download from Debian and PyPI is replaced by a counter."""

    prepared: list[str] = []

    def _prepare(self, log):
        self.prepared.append(str(self.path))
        return write_manifest(self.path, {p: host_version(p) for p in REQUIRED})


@needs_qemu
def test_ensure_keeps_an_intact_tree_and_prepares_a_corrupted_one_again(tmp_path):
    small_tree(tmp_path)
    rootfs = Recorded(tmp_path)
    Recorded.prepared = []
    rootfs.ensure(log=lambda line: None)
    assert Recorded.prepared == []
    (tmp_path / "opt/wp5/site-packages/dask/__init__.py").write_text("corrupt\n")
    lines = []
    rootfs.ensure(log=lines.append)
    assert Recorded.prepared == [str(tmp_path)]
    assert "1 files differ" in lines[0]
