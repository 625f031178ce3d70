"""Auditing session logs at production scale with embedded DuckDB.

``load`` (files, line numbers, the DuckDB session) → ``conformance`` (the
schema's rules in SQL, one scan) and ``sql`` (the contract's invariants) →
``auditor`` (aggregation) with ``parity`` and ``stats`` (the daemons'
distributions compared) → ``result`` (plain data) → ``render`` (terminal and
Markdown; JSON is ``AuditResult.to_json``).

Nothing is imported here, so that ``python -m harness.audit.sql`` (the
invariants as a script for the ``duckdb`` shell) loads nothing else.
"""
