"""The verdict's rules: pure functions and frozen data, no I/O, no clock of their own.

The runtime, the fleet store, the simulator and the tests all call these; a rule lives here once.

- :mod:`~service.verdict.rules`: samples, the gray-failure window, the latch, shared failure;
- :mod:`~service.verdict.policy`: one evaluation's verdict (pass, warn, fail and why);
- :mod:`~service.verdict.tracker`: window and latch held in one process's memory (the
  simulator's single-instance strategy).
"""
