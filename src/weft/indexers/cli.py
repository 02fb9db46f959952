"""`weft indexer ...` commands (a thin adapter).

Every command talks to a *running* weft server over its REST API with the admin key (so the
server's scheduler and the CLI never run the same indexer at once): ``--endpoint`` (WEFT_ENDPOINT,
default http://127.0.0.1:8080) and ``--admin-key`` (WEFT_ADMIN_KEY, else the key stored in
``--data-dir``/admin-key).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import httpx
import typer

app = typer.Typer(help="SQL indexers: run, status, and one-line setup for a table.", no_args_is_help=True)
API_VERSION = "2024-07-01"


class Api:
    def __init__(self, endpoint: str | None, admin_key: str | None, data_dir: Path | None, admin_key_file: Path | None = None):
        from weft.errors import WeftError
        from weft.keyfiles import resolve_keys

        self.endpoint = (endpoint or os.environ.get("WEFT_ENDPOINT") or "http://127.0.0.1:8080").rstrip("/")
        try:
            keys = resolve_keys([admin_key] if admin_key else None, [admin_key_file] if admin_key_file else None, "WEFT_ADMIN_KEY")
        except WeftError as exc:
            raise typer.BadParameter(exc.message)
        key = keys[0] if keys else None
        if not key:
            path = Path(data_dir or os.environ.get("WEFT_DATA_DIR", "./weft-data")) / "admin-key"
            if path.exists():
                key = path.read_text().strip()
        if not key:
            raise typer.BadParameter("no admin key: pass --admin-key-file, set WEFT_ADMIN_KEY_FILE or WEFT_ADMIN_KEY, or point --data-dir at the server's data dir")
        self.client = httpx.Client(base_url=self.endpoint, headers={"api-key": key.split(",")[0]}, timeout=60)

    def call(self, method: str, path: str, body=None, ok=(200, 201, 202, 204)) -> httpx.Response:
        try:
            r = self.client.request(method, f"{path}?api-version={API_VERSION}", json=body)
        except httpx.HTTPError as exc:
            typer.echo(f"error: cannot reach weft at {self.endpoint}: {exc}", err=True)
            raise typer.Exit(2)
        if r.status_code not in ok:
            try:
                message = r.json()["error"]["message"]
            except Exception:
                message = r.text
            typer.echo(f"error: {method} {path} -> {r.status_code}: {message}", err=True)
            raise typer.Exit(1)
        return r


EndpointOpt = typer.Option(None, "--endpoint", help="weft server URL (WEFT_ENDPOINT; default http://127.0.0.1:8080).")
KeyOpt = typer.Option(None, "--admin-key", help="Admin api-key; visible in the process list, prefer --admin-key-file, WEFT_ADMIN_KEY_FILE or WEFT_ADMIN_KEY (default: <data-dir>/admin-key).")
KeyFileOpt = typer.Option(None, "--admin-key-file", help="File holding the admin api-key (recommended).")
DataDirOpt = typer.Option(None, "--data-dir", help="The server's data dir, to read its admin-key file.")


def _wait(api: Api, name: str, progress_bar: bool) -> dict:
    """Follow the newest execution (the server records it before answering 202) until it ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress_bar, transient=False) as bar:
        task = bar.add_task(name, total=None)
        while True:
            status = api.call("GET", f"/indexers/{name}/status").json()
            history = status["executionHistory"]
            last = history[0] if history else None
            if last is not None:
                progress = last.get("progress") or {}
                bar.update(task, completed=progress.get("rowsRead", last["itemsProcessed"]), total=progress.get("estimatedTotal"),
                           description=f"{name} {progress.get('phase', '')}".strip())
                if last["status"] != "inProgress":
                    bar.update(task, completed=last["itemsProcessed"], total=last["itemsProcessed"] or 1)
                    return last
            time.sleep(0.2)


@app.command("run")
def run(name: str, wait: bool = typer.Option(True, help="Wait for the run to finish (with a progress bar)."),
        endpoint: Optional[str] = EndpointOpt, admin_key: Optional[str] = KeyOpt, admin_key_file: Optional[Path] = KeyFileOpt, data_dir: Optional[Path] = DataDirOpt) -> None:
    """Run an indexer now (joins the run in progress if there is one)."""
    api = Api(endpoint, admin_key, data_dir, admin_key_file)
    r = api.call("POST", f"/indexers/{name}/run", ok=(202, 409))
    if r.status_code == 409:
        typer.echo(f"{name}: a run is already in progress; following it")
    if not wait:
        typer.echo(f"{name}: run started")
        return
    last = _wait(api, name, progress_bar=True)
    typer.echo(f"{name}: {last['status']} — {last['itemsProcessed']} processed, {last['itemsFailed']} failed"
               + (f" — {last['errorMessage']}" if last.get("errorMessage") else ""))
    for error in last.get("errors", [])[:20]:
        typer.echo(f"  key {error['key']}: {error['errorMessage']}")
    if last["status"] != "success":
        raise typer.Exit(1)


@app.command("status")
def status(name: str, as_json: bool = typer.Option(False, "--json", help="Print the raw status JSON."),
           endpoint: Optional[str] = EndpointOpt, admin_key: Optional[str] = KeyOpt, admin_key_file: Optional[Path] = KeyFileOpt, data_dir: Optional[Path] = DataDirOpt) -> None:
    """Show an indexer's status and recent runs."""
    body = Api(endpoint, admin_key, data_dir, admin_key_file).call("GET", f"/indexers/{name}/status").json()
    if as_json:
        typer.echo(json.dumps(body, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"indexer {name} ({body['status']})")
    for column in ("status", "start", "end", "processed", "failed", "message"):
        table.add_column(column)
    for run_ in body["executionHistory"][:10]:
        table.add_row(run_["status"], run_.get("startTime") or "", run_.get("endTime") or "", str(run_["itemsProcessed"]),
                      str(run_["itemsFailed"]), (run_.get("errorMessage") or "")[:80])
    Console().print(table)
    last = body.get("lastResult") or {}
    if last.get("finalTrackingState"):
        typer.echo(f"tracking state: {last['finalTrackingState']}")


@app.command("create-for-table")
def create_for_table(
    table: str = typer.Argument(..., help="Table or view name (schema.table allowed)."),
    connection_string: str = typer.Option(..., "--connection-string", "-c", help="SQLAlchemy URL, or the path of a SQLite file."),
    kind: str = typer.Option(..., "--type", "-t", help="postgresql, mysql, sqlite or azuresql."),
    index: Optional[str] = typer.Option(None, "--index", help="Target index (default: the table name); created from the table's columns if missing."),
    high_water_mark: Optional[str] = typer.Option(None, "--high-water-mark", help="Change-tracking column (e.g. updated_at, rowversion)."),
    soft_delete: Optional[str] = typer.Option(None, "--soft-delete", help="COLUMN=MARKER, e.g. is_deleted=true."),
    hard_deletes: bool = typer.Option(True, help="Detect hard deletes by reconciliation (weft extension)."),
    schedule: Optional[str] = typer.Option(None, "--schedule", help="ISO 8601 interval, e.g. PT5M or PT1S."),
    notify: Optional[str] = typer.Option(None, "--notify", metavar="CHANNEL",
                                         help="PostgreSQL: wake the indexer on NOTIFY CHANNEL (weftNotify); prints the trigger SQL to install."),
    install_trigger: bool = typer.Option(False, "--install-trigger", help="With --notify: install that trigger on the table now (CREATE OR REPLACE FUNCTION weft_notify, CREATE TRIGGER weft_notify)."),
    endpoint: Optional[str] = EndpointOpt, admin_key: Optional[str] = KeyOpt, admin_key_file: Optional[Path] = KeyFileOpt, data_dir: Optional[Path] = DataDirOpt,
) -> None:
    """One line to sync a table: data source + (index) + indexer, then the first run starts."""
    from weft.errors import InvalidInput
    from weft.indexers.model import parse_data_source

    if install_trigger and not notify:
        typer.echo("error: --install-trigger needs --notify CHANNEL", err=True)
        raise typer.Exit(1)
    api = Api(endpoint, admin_key, data_dir, admin_key_file)
    base = table.split(".")[-1].strip("[]\"").lower().replace("_", "-")
    index = index or base
    ds = {"name": f"{base}-ds", "type": kind, "credentials": {"connectionString": connection_string}, "container": {"name": table}}
    if high_water_mark:
        ds["dataChangeDetectionPolicy"] = {"@odata.type": "#Microsoft.Azure.Search.HighWaterMarkChangeDetectionPolicy", "highWaterMarkColumnName": high_water_mark}
    if soft_delete:
        column, _, marker = soft_delete.partition("=")
        ds["dataDeletionDetectionPolicy"] = {"@odata.type": "#Microsoft.Azure.Search.SoftDeleteColumnDeletionDetectionPolicy",
                                             "softDeleteColumnName": column, "softDeleteMarkerValue": marker or "true"}
    elif hard_deletes:
        ds["dataDeletionDetectionPolicy"] = {"@odata.type": "#Weft.HardDeleteReconciliationPolicy"}
    trigger = None
    if notify:
        from weft.indexers.notify import trigger_sql

        ds["weftNotify"] = {"channel": notify}
        try:
            parse_data_source(ds)
        except InvalidInput as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1)
        trigger = trigger_sql(table, notify)
        if install_trigger:
            _install_trigger(parse_data_source(ds), trigger)
            typer.echo(f"installed trigger weft_notify on {table} (NOTIFY {notify} with the writer's transaction id)")
    field_mappings = []
    if api.call("GET", f"/indexes/{index}", ok=(200, 404)).status_code == 404:
        from weft.indexers.sources.sql import describe_table

        columns, primary_key = describe_table(parse_data_source(ds))
        if len(primary_key) != 1:
            typer.echo("error: the table needs a single-column primary key to become the index key", err=True)
            raise typer.Exit(1)
        key = primary_key[0]
        fields = []
        for name, edm in columns:
            clean = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
            if not clean[:1].isalpha():
                clean = "f_" + clean
            is_key = name == key
            field = {"name": clean, "type": "Edm.String" if is_key else edm, "key": is_key, "filterable": True,
                     "sortable": True, "searchable": edm == "Edm.String", "facetable": edm != "Edm.String"}
            fields.append(field)
            if clean != name:
                field_mappings.append({"sourceFieldName": name, "targetFieldName": clean})
        api.call("POST", "/indexes", {"name": index, "fields": fields})
        typer.echo(f"created index {index} ({len(fields)} fields, key {key})")
    api.call("PUT", f"/datasources/{ds['name']}", ds)
    indexer = {"name": f"{base}-indexer", "dataSourceName": ds["name"], "targetIndexName": index, "fieldMappings": field_mappings}
    if schedule:
        indexer["schedule"] = {"interval": schedule}
    api.call("PUT", f"/indexers/{indexer['name']}", indexer)
    typer.echo(f"created data source {ds['name']} and indexer {indexer['name']}; the first run has started "
               f"(follow it with: weft indexer status {indexer['name']})")
    if trigger and not install_trigger:
        typer.echo(f"\nWrites wake the indexer once this trigger is installed on {table} (or rerun with --install-trigger):\n")
        typer.echo(trigger)


def _install_trigger(datasource, statements: str) -> None:
    """Run the trigger SQL over the data source's connection (one transaction)."""
    import psycopg

    from weft.indexers.notify import conninfo
    from weft.indexers.sources.sql import engine_url

    try:
        with psycopg.connect(conninfo(engine_url(datasource))) as conn:
            conn.execute(statements)
    except psycopg.Error as exc:
        typer.echo(f"error: could not install the trigger: {str(exc).strip()}", err=True)
        raise typer.Exit(1)
