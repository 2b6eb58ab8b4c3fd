"""The command line and the operator's console: ``deep-health`` and its subcommands.

- :mod:`~service.cli.main`: the parser, ``serve``, ``check``, ``local``;
- :mod:`~service.cli.switch`: ``deep-health switch`` (drain and hold in the fleet's store);
- :mod:`~service.cli.simulate`: ``deep-health simulate``;
- :mod:`~service.cli.deps`: ``deep-health deps`` (the dependency map);
- :mod:`~service.cli.console`: ``deep-health status`` (both regions, live);
- :mod:`~service.cli.terminal`: rich output (colour on a terminal, plain when piped, progress).
"""
