"""`python -m adf.records`: regenerate every record module from its `*_spec.py`."""

from __future__ import annotations

import sys

from adf.records.generate import main

sys.exit(main())
