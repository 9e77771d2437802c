"""Entry point of ``python -m train``."""

from .cli import main

raise SystemExit(main())
