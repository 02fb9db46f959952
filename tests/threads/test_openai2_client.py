"""The openai SDK 2.x, unchanged, against weft's stored responses.

The test venv has openai 3.x, so this builds a side virtualenv once (``.venv-extra/openai2``, git-ignored;
about 15-30 s and a PyPI download the first time, then reused) and runs ``openai2_client.py`` in it against
the live weft subprocess. Skipped when the side venv cannot be built (no network), failed when CI=true.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-extra" / "openai2"


def side_python() -> Path:
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import openai, sys; sys.exit(0 if openai.__version__.startswith('2.') else 1)"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True, timeout=120)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "openai>=2,<3", "pydantic>=2"], check=True,
                       capture_output=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        reason = f"could not build the openai 2.x side venv: {getattr(exc, 'stderr', b'')!r}"[:500]
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def test_openai_2x_client(live):
    python = side_python()
    done = subprocess.run([str(python), str(Path(__file__).with_name("openai2_client.py")), live.endpoint, live.admin_key],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout)
    assert seen["version"].startswith("2.")
    assert seen["retrieved"] == "echo: hello two" and seen["input_items"] == ["hello two"]
    assert seen["chain"] == ["function_call", "echo: windy"]
    assert seen["store_false"] is False
    assert seen["background"] == [True, "completed", "echo: later"]
    assert seen["parsed"] == {"word": "sample", "count": 7}
    assert seen["truncation"] == "context_length_exceeded"
    assert seen["stream"][0] == "response.created" and seen["stream"][-1] == "response.completed"
    assert "response.output_text.delta" in seen["stream"] and seen["deleted"] is True
