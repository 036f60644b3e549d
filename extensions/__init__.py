"""Build-time code of the dashboard template: entity ingestion and Jinja filters."""
