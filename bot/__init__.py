"""The bot process: configuration, logging, Sentry, metrics sidecar, storage and the Bot class."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gw2optimizer")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"
