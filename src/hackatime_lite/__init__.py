"""hackatime-lite: a self-hosted, WakaTime-compatible coding-time tracker."""

__version__ = "0.1.0"
