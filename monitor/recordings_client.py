"""`camwatch recordings` for a GB/T 28181 camera: its devices register with the running service, so the
service is asked (``/recordings/<camera>`` on ``monitor.listen``, with the same basic auth as ``/probe``)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from base64 import b64encode
from datetime import date
from typing import Any
from urllib.parse import quote

from camwatch.config.models import MonitorSettings

# The reply is one day's ranges: a few thousand items at most.
MAX_REPLY_BYTES = 4 << 20


class ServiceUnavailable(RuntimeError):
    """No camwatch service answered, or it refused or failed the question (the message says which)."""


def service_url(settings: MonitorSettings) -> str:
    """Where the running service listens, as a client reaches it (a wildcard address is this host)."""
    host, _, port = settings.listen.rpartition(":")
    host = host.strip("[]")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    scheme = "https" if settings.web.tls_cert_file is not None else "http"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def ask_service(
    settings: MonitorSettings, camera: str, day: date | None, *, user: str = "", password: str = ""
) -> dict[str, Any]:
    """The service's answer for ``camera`` on ``day``; raises ServiceUnavailable saying why not."""
    base = service_url(settings)
    url = f"{base}/recordings/{quote(camera, safe='')}" + (f"?day={day.isoformat()}" if day else "")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if user:
        request.add_header("Authorization", "Basic " + b64encode(f"{user}:{password}".encode()).decode())
    context = None
    if settings.web.tls_cert_file is not None:  # its own certificate, mostly self-signed, on this host
        context = ssl.create_default_context(cafile=str(settings.web.tls_cert_file))
        context.check_hostname = False
    wait = settings.recording.timeout + 10.0
    try:
        with urllib.request.urlopen(request, timeout=wait, context=context) as reply:
            return dict(json.loads(reply.read(MAX_REPLY_BYTES)))
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise ServiceUnavailable(
                f"the service at {base} wants a login: --user NAME and $CAMWATCH_WEB_PASSWORD"
            ) from None
        try:
            why = str(json.loads(exc.read(MAX_REPLY_BYTES)).get("error", exc.reason))
        except ValueError:
            why = str(exc.reason)
        raise ServiceUnavailable(f"the service at {base} answered {exc.code}: {why}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceUnavailable(
            f"no camwatch service answers at {base} ({reason}); a GB/T 28181 camera's recordings are asked "
            "through the running service (`camwatch run CONFIG`)"
        ) from None
    except ValueError:
        raise ServiceUnavailable(f"the service at {base} sent no JSON") from None
