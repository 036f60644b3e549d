"""Helpers shared by the tests: template checkouts, generated projects, database servers."""
