"""The console's speed: asset weight, time to a usable explorer with a cold cache, a 1,000-row result table.

The measurement lives in the browser test (tests/console/test_console_browser.py::test_measure_speed: headless
Chromium against a live `weft serve --demo` on loopback); this runs just that test, which writes
bench/console/RESULTS.md and the `console` section of bench/RESULTS.md.

    /work/main/.venv/bin/python bench/console/run.py
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    test = "tests/console/test_console_browser.py::test_measure_speed"
    code = subprocess.call([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env)
    if code == 0:
        print((ROOT / "bench" / "console" / "RESULTS.md").read_text())
    return code


if __name__ == "__main__":
    sys.exit(main())
