"""``weft cluster status`` and ``weft cluster migrate`` (the CLI adapter) and the status report behind them.

The report reads the cluster database directly (not a node), so it works with every node down: the nodes
seen (alive while their last heartbeat is younger than :data:`weft.cluster.nodes.DEAD_AFTER`), each node's
applied position per index and its lag behind the head, and the job leases with their holders.

The head of an index is the newest position of a document batch of that index in the search side's commit
log (``weft_search_log``, :func:`search_log_heads`, the sources in :data:`HEAD_SOURCES`), or the highest
position a live node reports when that is higher or the log does not know the index.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional

import typer



def search_log_heads(engine) -> dict[str, int]:
    """The newest committed document batch per index of its current incarnation, from the search commit log."""
    from sqlalchemy import text

    from weft.cluster.pg import PREFIX

    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{PREFIX}log"}).scalar() is None:
            return {}  # no search side in this cluster yet
        rows = conn.execute(text(
            f"SELECT l.name, max(l.position) FROM {PREFIX}log l JOIN {PREFIX}indexes i"
            " ON i.name = l.name AND i.uid = l.index_uid WHERE l.kind = 'docs' GROUP BY l.name")).all()
    return {name: int(position) for name, position in rows}


HEAD_SOURCES: list[Callable] = [search_log_heads]

app = typer.Typer(help="Cluster mode: status of the nodes and jobs, and moving an embedded data dir into a cluster.", no_args_is_help=True)


def report(engine) -> dict:
    from weft.cluster.leases import lease_rows
    from weft.cluster.nodes import DEAD_AFTER, node_rows  # here: the node gauges register only when used

    nodes = node_rows(engine)
    heads: dict[str, int] = {}
    for node in nodes:  # at least the highest position a live node reports ...
        if node["alive"]:
            for index, position in node["positions"].items():
                heads[index] = max(heads.get(index, 0), int(position))
    for source in HEAD_SOURCES:  # ... and the commit log's newest, where it knows the index
        for index, position in source(engine).items():
            heads[str(index)] = max(heads.get(str(index), 0), int(position))
    for node in nodes:
        node["lag"] = {index: max(0, head - int(node["positions"].get(index, 0))) for index, head in heads.items()}
    leases = lease_rows(engine)
    return {"nodes": nodes, "heads": heads, "leases": leases, "deadAfterSeconds": DEAD_AFTER,
            "alive": sum(1 for n in nodes if n["alive"]), "dead": sum(1 for n in nodes if not n["alive"])}


def _engine(url: str | None):
    from weft.cluster.stores import connect

    if not url:
        raise typer.BadParameter("no cluster URL: pass --cluster-url or set WEFT_CLUSTER_URL")
    return connect(url, pool_size=1, max_overflow=2)


def _text(data: dict) -> str:
    lines = [f"nodes: {data['alive']} alive, {data['dead']} dead (dead after {data['deadAfterSeconds']:.0f} s without a heartbeat)"]
    for n in data["nodes"]:
        state = "alive" if n["alive"] else "DEAD"
        lines.append(f"  {n['nodeId']:<28} {state:<5} {n['address']:<22} v{n['version']:<8} seen {n['secondsSinceSeen']:.1f} s ago"
                     f"  started {n['startedAt']}")
        for index in sorted(set(n["positions"]) | set(n["lag"])):
            lines.append(f"      {index}: applied {n['positions'].get(index, 0)}, lag {n['lag'].get(index, 0)}")
    lines.append("jobs (leases):")
    for lease in data["leases"]:
        state = "held" if lease["live"] else "expired"
        lines.append(f"  {lease['name']:<36} {lease['holder']:<28} {state:<7} token {lease['token']}  until {lease['expiresAt']}")
    if not data["leases"]:
        lines.append("  (none)")
    return "\n".join(lines)


ClusterUrl = typer.Option(None, "--cluster-url", envvar="WEFT_CLUSTER_URL", help="The cluster database (cluster.url, WEFT_CLUSTER_URL).")


@app.command("status")
def status(cluster_url: Optional[str] = ClusterUrl, as_json: bool = typer.Option(False, "--json", help="One JSON object.")) -> None:
    """Nodes seen (alive/dead), each node's applied position and lag per index, and the job owners."""
    engine = _engine(cluster_url)
    try:
        data = report(engine)
    finally:
        engine.dispose()
    typer.echo(json.dumps(data, indent=2) if as_json else _text(data))


@app.command("migrate")
def migrate(data_dir: Path = typer.Option(..., "--data-dir", help="The embedded data dir to move (it is only read)."),
            cluster_url: Optional[str] = ClusterUrl) -> None:
    """Copy an embedded data dir's indexers, knowledge sources/bases, keys, threads and search indexes (definitions,
    synonym maps, aliases, documents) into the cluster database.

    Idempotent (objects already there and equal are skipped); refuses, before writing anything, when the
    cluster holds a different object under the same name.
    """
    from weft.cluster.stores_migrate import MigrationRefused, migrate_data_dir

    engine = _engine(cluster_url)
    try:
        summary = migrate_data_dir(Path(data_dir), engine, cluster_url)
    except MigrationRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1)
    finally:
        engine.dispose()
    for part, counts in summary.items():
        typer.echo(f"{part}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
