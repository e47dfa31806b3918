"""The jupyter-wp5 benchmark suite: ``python -m bench`` (see docs/performance.md)."""
