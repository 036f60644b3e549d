"""Alert rules from dashboard.yaml, evaluated on the live stream (see evaluator.py)."""
