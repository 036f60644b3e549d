"""Database access: the URL, the per-dialect facts, and the one wrapper around the driver layer."""
