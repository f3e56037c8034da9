"""Grafana dashboards and Prometheus/Alertmanager rules, generated from code and committed as files."""
