"""Suites: what a case is, who answers it, and how answers compare (see
``base`` for the three kinds and ``registry`` for the list)."""
