"""``python -m golden`` runs the accuracy check (same as ``python -m golden.accuracy``)."""

from .accuracy import main

raise SystemExit(main())
