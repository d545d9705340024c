"""Fetching and reading annual reports: bytes in, ParsedReport out.

A plain library: no database, no queue, no settings. Callers pass what it needs.
"""
