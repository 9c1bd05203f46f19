"""`log.format = json`: every line the process writes to standard error is one JSON object
with time, level, logger and message (what log shippers expect), including the embedded
broker's and librdkafka's lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

BIN = os.environ.get("CONSENT_BRIDGE_BIN")
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not BIN, reason="CONSENT_BRIDGE_BIN is not set (scripts/test sets it)")


def test_json_log_format_writes_one_object_per_line(tmp_path):
    process = subprocess.Popen(
        [BIN, "run", "--embedded", "true", "--log-format", "json", "--log-level", "info",
         "--contracts-directory", str(ROOT / "Contracts"), "--http-listen-address", "127.0.0.1:0",
         "--data-directory", str(tmp_path / "data")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) >= 3, err
    for line in lines:
        record = json.loads(line)  # raises on anything that is not one JSON object
        assert {"time", "level", "logger", "message"} <= record.keys(), line
    assert any(json.loads(line)["message"] == "Starting" for line in lines)
    # Standard output carries only the broker's address line.
    assert [line for line in out.splitlines() if line.strip()] == [l for l in out.splitlines() if l.startswith("bootstrap: ")]
