"""Probes, one module per protocol, each ``async def probe(camera, ctx) -> ProbeResult``; see ``registry``."""
