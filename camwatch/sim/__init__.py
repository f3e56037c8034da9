"""Simulated camera fleet on loopback: RTSP, H.264 over RTP/TCP and ONVIF, with fault profiles."""
