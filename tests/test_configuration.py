"""One configuration: weft.toml < WEFT_* environment < flags; unknown keys and bad values refused at start;
`weft config show` redacts secrets; the server and its services take their settings from it."""
from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from tests.support.server import WeftServer

from weft.cli import app as cli
from weft.config import Settings
from weft.configuration import ConfigError, load


def write(tmp_path, text: str):
    path = tmp_path / "weft.toml"
    path.write_text(text)
    return path


def test_precedence_file_environment_flags(tmp_path):
    path = write(tmp_path, '[server]\nport = 9001\nhost = "0.0.0.0"\nlog_format = "json"\n[threads]\ndefault_tenant = "from-file"\n'
                           '[chat]\nidle_seconds = 60\n')
    c = load(path, environ={})
    assert (c.get("server.port"), c.get("server.host"), c.get("threads.default_tenant"), c.get("chat.idle_seconds")) == (9001, "0.0.0.0", "from-file", 60.0)
    assert c.sources["server.port"] == "file" and c.sources["server.log_level"] == "default"
    c = load(path, environ={"WEFT_PORT": "9002", "WEFT_DEFAULT_TENANT": "from-env"})
    assert (c.get("server.port"), c.get("threads.default_tenant"), c.get("server.host")) == (9002, "from-env", "0.0.0.0")
    c = load(path, environ={"WEFT_PORT": "9002"}, flags={"server.port": 9003, "server.host": None})
    assert (c.get("server.port"), c.sources["server.port"], c.get("server.host")) == (9003, "flag", "0.0.0.0")
    # WEFT_CONFIG names the file when --config does not
    assert load(environ={"WEFT_CONFIG": str(path)}).get("server.port") == 9001
    # the effective values reach the parts configured by WEFT_* mappings
    assert load(path, environ={}).environ()["WEFT_DEFAULT_TENANT"] == "from-file"


@pytest.mark.parametrize("text, message", [
    ('[server]\nprot = 1\n', "unknown setting server.prot"),
    ('[srever]\nport = 1\n', r"unknown section \[srever\]"),
    ('[server]\nport = "eighty"\n', "server.port must be a whole number"),
    ('[server]\nport = 80.5\n', "server.port must be a whole number"),
    ('[server]\ndemo = "perhaps"\n', "server.demo must be true or false"),
    ('[server]\nlog_format = "xml"\n', "server.log_format is one of text, json"),
    ('[auth]\nissuers = "https://a"\n', None),  # a single string is accepted as a one-item list
    ('[auth]\nissuers = [1, 2]\n', "auth.issuers must be a list of strings"),
    ('[threads]\nretention_interval = inf\n', "finite"),
    ('server = 1\n', "must be a table"),
    ('[server\n', "not valid TOML"),
])
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    if message is None:
        assert load(path, environ={}).get("auth.issuers") == ("https://a",)
        return
    with pytest.raises(ConfigError, match=message):
        load(path, environ={})


def test_bad_environment_values_name_the_variable():
    with pytest.raises(ConfigError, match="WEFT_PORT"):
        load(environ={"WEFT_PORT": "x"})
    with pytest.raises(ConfigError, match="WEFT_AUDIT_READS"):
        load(environ={"WEFT_AUDIT_READS": "sometimes"})
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load("/nonexistent/weft.toml", environ={})


def test_key_files(tmp_path):
    (tmp_path / "admin").write_text("# the admin key\nadmin-from-file\n\n")
    (tmp_path / "query").write_text("q1\nq2\n")
    settings = Settings.from_config(load(environ={"WEFT_ADMIN_KEY_FILE": str(tmp_path / "admin"),
                                                  "WEFT_QUERY_KEY_FILE": str(tmp_path / "query")}))
    assert settings.admin_keys == ["admin-from-file"] and settings.query_keys == ["q1", "q2"]
    (tmp_path / "empty").write_text("\n# nothing\n")
    with pytest.raises(ConfigError, match="holds no key"):
        Settings.from_config(load(environ={"WEFT_ADMIN_KEY_FILE": str(tmp_path / "empty")}))


def test_config_show_redacts_secrets(tmp_path):
    path = write(tmp_path, '[threads]\ndatabase_url = "postgresql://weft:hunter2@db/weft"\n[models]\nllm_api_key = "sk-secret"\n'
                           'llm_base_url = "http://llm.local/v1"\n')
    result = CliRunner().invoke(cli, ["config", "show", "--config", str(path)], env={"WEFT_ADMIN_KEY": "adm1n-secret", "WEFT_PORT": "7001"})
    assert result.exit_code == 0, result.output
    out = result.output
    for secret in ("hunter2", "sk-secret", "adm1n-secret"):
        assert secret not in out
    assert 'database_url = "<redacted>"  # file' in out and 'admin_keys = ["<redacted>"]  # env' in out
    assert 'port = 7001  # env' in out and 'llm_base_url = "http://llm.local/v1"  # file' in out
    bad = CliRunner().invoke(cli, ["config", "show", "--config", str(write(tmp_path, "[server]\nnope = 1\n"))])
    assert bad.exit_code != 0 and "unknown setting server.nope" in bad.output


def test_server_takes_its_settings_from_the_file(tmp_path):
    (tmp_path / "admin-key").write_text("file-admin-key\n")
    path = write(tmp_path, f'[server]\nadmin_key_file = "{tmp_path / "admin-key"}"\nmetrics = "open"\n'
                           '[threads]\ndefault_tenant = "filetenant"\n')
    srv = WeftServer(tmp_path / "data", admin_key="", query_key="", extra_args=["--config", str(path)])
    srv.admin_key = "file-admin-key"
    srv.start()
    try:
        assert httpx.get(srv.url("/indexes"), headers={"api-key": "file-admin-key"}).status_code == 200
        assert httpx.get(f"{srv.endpoint}/metrics").status_code == 200  # metrics = "open" from the file
        conv = httpx.post(f"{srv.endpoint}/v1/conversations", headers={"api-key": "file-admin-key"}, json={})
        assert conv.status_code == 200
        audit = httpx.get(f"{srv.endpoint}/audit", headers={"api-key": "file-admin-key"}).json()
        assert {e["tenant"] for e in audit["data"]} == {"filetenant"}
    finally:
        srv.stop()
    # an unknown key stops the start with a message naming it, and no traceback
    bad = write(tmp_path, "[threads]\nretention = 5\n")
    proc = subprocess.run([sys.executable, "-m", "weft.cli", "serve", "--config", str(bad), "--data-dir", str(tmp_path / "d2")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "unknown setting threads.retention" in proc.stderr and "Traceback" not in proc.stderr



def test_every_server_setting_the_code_reads_is_declared():
    """A WEFT_* name read anywhere in the server's code must be an option (else weft.toml could not set it and the
    effective mapping handed to the services would drop it). Client-side commands (weft mcp, tools, indexer CLI)
    read their own."""
    import re
    from pathlib import Path

    import weft
    from weft.configuration import BY_ENV

    client_side = {"WEFT_CONFIG", "WEFT_ENDPOINT", "WEFT_TOOLS_KEY", "WEFT_TOOLS_KEY_FILE", "WEFT_MCP_TOKEN", "WEFT_MCP_TOKEN_FILE",
                   "WEFT_MCP_ALLOWED_HOSTS"}
    root = Path(weft.__file__).parent
    names = {n for path in root.rglob("*.py") for n in re.findall(r"WEFT_[A-Z0-9_]+", path.read_text())}
    assert sorted(names - set(BY_ENV) - client_side) == []
