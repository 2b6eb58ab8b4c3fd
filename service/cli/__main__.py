"""``python -m service.cli``: the same as the ``deep-health`` command."""

from service.cli.main import main

raise SystemExit(main())
