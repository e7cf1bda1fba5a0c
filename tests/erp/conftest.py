"""Puts tests/erp on sys.path so each slice's tests share erp_testkit (no fixtures here)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
