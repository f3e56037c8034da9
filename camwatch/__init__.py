"""camwatch: health monitoring and coverage-gap reports for video-surveillance networks."""

__version__ = "0.1.0"
