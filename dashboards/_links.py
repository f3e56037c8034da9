"""Stable dashboard uids and the Grafana paths that alerts and panels link to."""

from urllib.parse import quote

from camwatch.dashboards._i18n import uid as lang_uid

FLEET_UID = "camwatch-fleet"
AREA_UID = "camwatch-area"
CAMERA_UID = "camwatch-camera"
COVERAGE_UID = "camwatch-coverage"


def dashboard_path(uid: str, **variables: str) -> str:
    """Path of a dashboard relative to Grafana's root URL, with template variables set.

    The uid is the language's being generated (a Chinese dashboard links to Chinese ones). Values are kept
    verbatim (not URL-quoted) so that they may be Go templates such as
    ``{{ $labels.camera }}`` or Grafana interpolations such as ``${__data.fields.camera}``.
    """
    query = "&".join(f"var-{quote(name)}={value}" for name, value in variables.items())
    return f"/d/{lang_uid(uid)}" + (f"?{query}" if query else "")
