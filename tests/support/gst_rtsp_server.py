"""A real GStreamer RTSP server with test-pattern cameras (run with Debian's /usr/bin/python3, which has gi).

Every mount serves 640x360 @ 15 fps H.264. A mount is a gst-launch fragment that produces raw video from a
*live* source (``is-live=true``); the script adds scaling, the encoder and the payloader, unless the
fragment ends in a payloader of its own named ``pay0`` (see ``vqd_corpus.as_h265``). Prints
``READY rtsp://HOST:PORT`` on stdout once it accepts connections.

    gst_rtsp_server.py --port 8554 live clock
    gst_rtsp_server.py --port 8554 --user admin --password pw --auth digest secure
    gst_rtsp_server.py --port 8554 --mount pan="videotestsrc is-live=true pattern=ball ! ..."
    gst_rtsp_server.py --port 8554 --protocols udp live    # RTP over UDP only: TCP SETUP answers 461
"""

from __future__ import annotations

import argparse
import ctypes
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 360, 15
_SRC = "videotestsrc is-live=true"
_MOTION = f"{_SRC} pattern=zone-plate kx2=20 ky2=20 kt=1"  # the whole frame changes every frame
# Mixes a live sensor's faint noise into the picture it follows (a frozen picture has none).
_SENSOR = (
    f"mix.sink_0 {_SRC} pattern=snow ! video/x-raw,width={WIDTH},height={HEIGHT} ! mix.sink_1 "
    "compositor name=mix latency=300000000 sink_1::alpha=0.03"
)

# Named mounts; with --user/--password, those in SECURE_DEFAULTS answer 401 without credentials.
DEFAULT_MOUNTS: dict[str, str] = {
    "live": _MOTION,
    # A static sharp scene with a ticking clock and a live sensor's faint noise: live, not frozen.
    "clock": f"{_SRC} pattern=pinwheel ! clockoverlay time-format=%H:%M:%S font-desc=Sans,36 ! {_SENSOR}",
    "frozen": f"{_SRC} pattern=pinwheel",
    "black": f"{_SRC} pattern=black",
    # A defocused camera that still shows a ticking clock: blurred, but not frozen.
    "blurred": (
        f"{_SRC} pattern=pinwheel ! clockoverlay time-format=%H:%M:%S font-desc=Sans,36 "
        f"! video/x-raw,width={WIDTH},height={HEIGHT} ! videoscale ! video/x-raw,width=24,height=14 "
        f"! videoscale ! video/x-raw,width={WIDTH},height={HEIGHT} ! {_SENSOR}"
    ),
    "secure": _MOTION,
}
SECURE_DEFAULTS = frozenset({"secure"})

_ENCODE = (
    f"videoconvert ! videoscale ! video/x-raw,width={WIDTH},height={HEIGHT},pixel-aspect-ratio=1/1 "
    f"! videorate ! video/x-raw,framerate={FPS}/1 ! videoconvert ! video/x-raw,format=I420 "
    f"! x264enc speed-preset=ultrafast tune=zerolatency key-int-max={FPS} threads=1 "
    "! rtph264pay name=pay0 pt=96 config-interval=1"
)


def launch_line(fragment: str) -> str:
    """The factory launch line for a raw-video ``fragment`` (encoded as H.264 here), or for one that brings
    its own encoder and payloader named ``pay0`` (an H.265 camera)."""
    return f"( {fragment} )" if "name=pay0" in fragment else f"( {fragment} ! {_ENCODE} )"


def _mount_arg(text: str) -> tuple[str, str]:
    name, sep, fragment = text.partition("=")
    if not sep or not name or not fragment.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=GST-LAUNCH-FRAGMENT, got {text!r}")
    return name.strip("/"), fragment


def _permissions(*, public: bool) -> GstRtspServer.RTSPPermissions:
    perms = GstRtspServer.RTSPPermissions()
    for role, construct in (("user", True), ("anonymous", public)):
        perms.add_role(role)
        # Anonymous needs access (else 404) but not construct on secured mounts, so they answer 401.
        perms.add_permission_for_role(role, "media.factory.access", True)
        perms.add_permission_for_role(role, "media.factory.construct", construct)
    return perms


def _set_auth_methods(auth: GstRtspServer.RTSPAuth, methods: list[str]) -> None:
    flags = 0
    for method in methods:
        flags |= int(getattr(GstRtsp.RTSPAuthMethod, method.upper()))
    # GI maps GstRTSPAuthMethod as a plain enum and refuses the combined flags, so call the C function.
    ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
    ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    pointer = ctypes.pythonapi.PyCapsule_GetPointer(auth.__gpointer__, None)
    ctypes.CDLL("libgstrtspserver-1.0.so.0").gst_rtsp_auth_set_supported_methods(
        ctypes.c_void_p(pointer), flags
    )


def _auth(user: str, password: str, methods: list[str]) -> GstRtspServer.RTSPAuth:
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string("media.factory.role", "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    auth.add_digest(user, password, token)
    _set_auth_methods(auth, methods)
    # Anonymous clients may connect (OPTIONS) but only open public mounts; secured ones answer 401.
    anonymous = GstRtspServer.RTSPToken()
    anonymous.set_string("media.factory.role", "anonymous")
    auth.set_default_token(anonymous)
    return auth


def build_server(args: argparse.Namespace) -> GstRtspServer.RTSPServer:
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    secured = args.user is not None and args.password is not None
    if secured:
        server.set_auth(_auth(args.user, args.password, args.auth))

    mounts: dict[str, tuple[str, bool]] = {}
    names = args.names or ([] if args.mount or args.secure_mount else list(DEFAULT_MOUNTS))
    for name in names:
        if name not in DEFAULT_MOUNTS:
            raise SystemExit(f"unknown mount {name!r}; known: {', '.join(DEFAULT_MOUNTS)}")
        mounts[name] = (DEFAULT_MOUNTS[name], name in SECURE_DEFAULTS)
    mounts.update({name: (fragment, False) for name, fragment in args.mount})
    mounts.update({name: (fragment, True) for name, fragment in args.secure_mount})

    points = server.get_mount_points()
    for name, (fragment, secure) in mounts.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch_line(fragment))
        # One pipeline per mount however many clients: keeps CPU low on small machines.
        factory.set_shared(True)
        if args.protocols:
            # Restricted like many encoders and relays: a SETUP for another transport answers 461.
            allowed = [getattr(GstRtsp.RTSPLowerTrans, name.upper()) for name in args.protocols]
            flags = allowed[0]
            for each in allowed[1:]:
                flags |= each
            factory.set_protocols(flags)
        if secured:
            factory.set_permissions(_permissions(public=not secure))
        points.add_factory(f"/{name}", factory)
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"default mounts to serve ({', '.join(DEFAULT_MOUNTS)})")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument(
        "--auth",
        type=lambda text: text.split(","),
        default=["basic", "digest"],
        metavar="basic,digest",
        help="authentication schemes offered in the 401 challenge",
    )
    parser.add_argument(
        "--protocols",
        type=lambda text: text.split(","),
        default=[],
        metavar="udp,tcp",
        help="lower transports every mount allows (default: GStreamer's, UDP and TCP)",
    )
    parser.add_argument("--mount", type=_mount_arg, action="append", default=[], metavar="NAME=FRAGMENT")
    parser.add_argument(
        "--secure-mount", type=_mount_arg, action="append", default=[], metavar="NAME=FRAGMENT"
    )
    args = parser.parse_args(argv)
    if (args.user is None) != (args.password is None):
        parser.error("--user and --password go together")

    Gst.init(None)
    server = build_server(args)
    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print(f"cannot listen on {args.host}:{args.port}", file=sys.stderr)
        return 1
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    print(f"READY rtsp://{args.host}:{server.get_bound_port()}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
