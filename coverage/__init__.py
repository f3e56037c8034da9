"""Coverage engine: layers, fields of view, measurement, gaps, placement and reports."""
