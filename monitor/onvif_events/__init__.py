"""The cameras' own analytics, ingested: ONVIF events (tamper, video diagnosis, storage) over PullPoint.

``vocab``: topics → the closed set of event names, and the pure fold of notification messages into what the
camera says holds. ``pullpoint``: one camera's subscription (onvif-zeep-async, bounded). ``source``: the
source beside the probe scheduler that keeps every subscription, reports in as ``onvif_events`` results and
serves ``camwatch_camera_event``.
"""
