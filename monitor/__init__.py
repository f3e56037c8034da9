"""Camera health monitor: probes, scheduler, state and Prometheus exporter."""
