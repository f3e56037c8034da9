"""Typed, validated configuration and camera inventory (validated once, at the edge)."""

from camwatch.config.errors import ConfigError, Problem
from camwatch.config.models import Camera, Config, CoverageSettings, MonitorSettings

__all__ = ["Camera", "Config", "ConfigError", "CoverageSettings", "MonitorSettings", "Problem"]
