"""A PostgreSQL primary with a synchronous streaming standby, built on this machine for the failover tests
(initdb, pg_basebackup, loopback ports, a temporary directory; as the 'postgres' user when the tests run as root).

Locally the tests skip when the server binaries are missing; with CI=true they fail instead (``require``).
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

import pytest


def bin_dir() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " (CI=true requires the failover test)")
    pytest.skip(reason)


class PgServer:
    """One PostgreSQL server (a data dir, a port) driven with pg_ctl and psql."""

    def __init__(self, bin_dir: str, root: str, name: str, port: int, as_postgres: bool):
        self.bin_dir, self.port, self.as_postgres = bin_dir, port, as_postgres
        self.data = os.path.join(root, name)
        self.log = os.path.join(root, f"{name}.log")
        self.root = root

    def run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [os.path.join(self.bin_dir, tool), *args]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            tail = open(self.log).read()[-2000:] if os.path.exists(self.log) else ""
            raise RuntimeError(f"{tool} failed: {done.stdout}\n{done.stderr}\n{tail}")
        return done

    def configure(self, extra: str) -> None:
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            conf.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n{extra}\n")

    def start(self) -> None:
        self.run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def promote(self) -> None:
        self.run("pg_ctl", "-D", self.data, "-w", "promote")

    def sql(self, query: str, db: str = "postgres") -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-Atc", query).stdout.strip()


class PgPair:
    """``start()`` builds the primary and its synchronous standby (application_name standby1); ``close()`` stops
    both and removes the directory."""

    def __init__(self, primary_port: int, standby_port: int, prefix: str = "weft-pg-pair-"):
        self.bin_dir = bin_dir()
        require(self.bin_dir is not None and os.path.exists(os.path.join(self.bin_dir, "initdb")),
                "PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            require(shutil.which("runuser") is not None and subprocess.run(["id", "postgres"], capture_output=True).returncode == 0,
                    "running as root needs the 'postgres' user and runuser")
        self.root = tempfile.mkdtemp(prefix=prefix)
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = PgServer(self.bin_dir, self.root, "primary", primary_port, self.as_postgres)
        self.standby = PgServer(self.bin_dir, self.root, "standby", standby_port, self.as_postgres)

    def start(self, timeout: float = 30.0) -> "PgPair":
        primary, standby = self.primary, self.standby
        primary.run("initdb", "-D", primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        primary.configure("wal_level = replica\nmax_wal_senders = 5\nsynchronous_standby_names = 'standby1'\n"
                          "synchronous_commit = on\nfsync = on\nmax_connections = 200")
        with open(os.path.join(primary.data, "pg_hba.conf"), "a") as hba:
            hba.write("\nhost replication all 127.0.0.1/32 trust\n")
        primary.start()
        standby.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", standby.data, "-R", "-X", "stream", "-c", "fast")
        # once promoted it runs alone, so it must not wait for a synchronous standby of its own
        standby.configure(f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres application_name=standby1'\n"
                          "synchronous_standby_names = ''")
        standby.start()
        deadline = time.monotonic() + timeout
        while primary.sql("select sync_state from pg_stat_replication") != "sync":
            if time.monotonic() > deadline:
                raise RuntimeError("the standby never became synchronous")
            time.sleep(0.2)
        return self

    def promote(self) -> None:
        """The standby becomes the primary (the roles swap here too)."""
        self.standby.promote()
        self.primary, self.standby = self.standby, self.primary

    def reattach(self, timeout: float = 30.0) -> None:
        """After ``promote``: the old primary (stopped) is rebuilt from the new one and becomes its synchronous standby."""
        primary, standby = self.primary, self.standby
        shutil.rmtree(standby.data)
        standby.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", standby.data, "-R", "-X", "stream", "-c", "fast")
        standby.configure(f"primary_conninfo = 'host=127.0.0.1 port={primary.port} user=postgres application_name=standby1'\n"
                          "synchronous_standby_names = ''")
        standby.start()
        primary.sql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'")
        primary.sql("SELECT pg_reload_conf()")
        deadline = time.monotonic() + timeout
        while primary.sql("select sync_state from pg_stat_replication") != "sync":
            if time.monotonic() > deadline:
                raise RuntimeError("the rebuilt standby never became synchronous")
            time.sleep(0.2)

    def close(self) -> None:
        self.standby.stop("immediate")
        self.primary.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
