"""The reliability tests train the counting task of tests/optim (`optim_task`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "optim"))
