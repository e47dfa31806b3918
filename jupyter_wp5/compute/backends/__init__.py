"""Cluster backends: where a profile's workers run (``local`` here; gateway and jobqueue later)."""

from .base import BackendStatus, ClusterBackend, ClusterHandle

__all__ = ["BackendStatus", "ClusterBackend", "ClusterHandle"]
