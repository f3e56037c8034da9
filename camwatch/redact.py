"""Moved to ``camwatch.config.redact``, where config and probes reach it; this keeps old imports."""

from camwatch.config.redact import mask_url, redact_url, scrub, userinfo_span

__all__ = ["mask_url", "redact_url", "scrub", "userinfo_span"]
