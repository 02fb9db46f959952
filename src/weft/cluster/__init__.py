"""Cluster mode (issue 18): PostgreSQL as the one system of record; each node's search index is derived.

Embedded mode (no ``cluster.url``) uses only ``leases.LocalLeases`` (the in-process job leases) and the CLI
adapter ``status`` (which imports the rest when a ``weft cluster`` command runs).
"""
