"""A single-node SLURM (slurmctld + slurmd + munged) on loopback, for the jobqueue tests.

Needs Debian's slurm-wlm and munge (``apt-get install slurm-wlm munge``) and root (slurmd runs
jobs as their users). Its configuration lives in a temporary directory and reaches sbatch and
squeue through ``SLURM_CONF``; /etc/slurm is not touched. The node offers the feature ``x86_64``
(the profile's ``--constraint``) and no GPUs. Partition ``arm`` holds the same node: the jobqueue
backend's ``arm_queue``, whose jobs run aarch64 workers under qemu (the job's own command).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

from jupyter_wp5.playground.processes import ProcessRegistry, free_ports, wait_until

DAEMONS = ("slurmctld", "slurmd", "munged")

_CONF = """\
ClusterName=wp5test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=16000 Feature=x86_64 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
PartitionName=arm Nodes=ALL Default=NO MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""


def why_not() -> str | None:
    """None when SLURM can run here, else why not."""
    missing = [
        d for d in DAEMONS if shutil.which(d) is None and not Path(f"/usr/sbin/{d}").exists()
    ]
    if missing:
        return f"not installed: {', '.join(missing)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "slurmd must run as root"
    return None


def _munge_answers() -> bool:
    return subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0


class SingleNodeSlurm:
    """Start with :meth:`start` (returns the slurm.conf path), end with :meth:`stop`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes = ProcessRegistry(root / "pids.json", root / "logs")
        self.conf = root / "slurm.conf"

    def start(self) -> Path:
        for sub in ("state", "spool", "logs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        ctld_port, slurmd_port = free_ports(2)
        self.conf.write_text(
            _CONF.format(
                host=socket.gethostname(),
                ctld_port=ctld_port,
                slurmd_port=slurmd_port,
                root=self.root,
                cpus=os.cpu_count() or 1,
            )
        )
        if not _munge_answers():
            # munged refuses to run as root; the package made the munge user and key.
            Path("/run/munge").mkdir(exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            proc = self.processes.spawn("munged", ["runuser", "-u", "munge", "--", "munged", "-F"])
            wait_until(_munge_answers, 20, "munged", proc=proc)
        env = {**os.environ, "SLURM_CONF": str(self.conf)}
        ctld = self.processes.spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)], env=env)
        wait_until(lambda: self._sinfo("idle"), 30, "slurmctld", proc=ctld)
        slurmd = self.processes.spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf)], env=env)
        wait_until(lambda: self._sinfo("idle", node=True), 30, "slurmd idle", proc=slurmd)
        return self.conf

    def _sinfo(self, state: str, node: bool = False) -> bool:
        env = {**os.environ, "SLURM_CONF": str(self.conf)}
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=env, check=False
        )
        if out.returncode != 0:
            return False
        return not node or state in out.stdout.split()

    def jobs(self) -> list[str]:
        """Names of the jobs in the queue (pending or running)."""
        env = {**os.environ, "SLURM_CONF": str(self.conf)}
        out = subprocess.run(
            ["squeue", "-h", "-o", "%j"], capture_output=True, text=True, env=env, check=True
        )
        return out.stdout.split()

    def partitions(self) -> list[str]:
        """The partition of each job in the queue."""
        env = {**os.environ, "SLURM_CONF": str(self.conf)}
        out = subprocess.run(
            ["squeue", "-h", "-o", "%P"], capture_output=True, text=True, env=env, check=True
        )
        return out.stdout.split()

    def stop(self) -> None:
        self.processes.stop_all()
