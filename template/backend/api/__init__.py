"""HTTP endpoints, statistics, metrics and access control."""
