"""The package version, in a leaf module: the server and the kernel read it from here, so that
neither has to load the package's public API to learn it."""

try:
    from ._version import __version__  # written by hatch's version hook at build time
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0.dev0"

__all__ = ["__version__"]
