from __future__ import annotations

from capigate.cli import main

main()
