"""Change capture: checking the live tables against the model and installing the SQL scripts."""
