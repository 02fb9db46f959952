"""Cluster mode (issue 18): PostgreSQL as the one system of record; each node's search index is derived.

Embedded mode (no ``cluster.url``) does not import this package.
"""
