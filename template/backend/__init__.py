"""Backend of the generated dashboard: change capture, polling and streaming."""
