"""The local demo: ``deep-health local`` (an embedded AWS emulator, demo checks, two regions).

- :mod:`~service.demo.local`: starts the emulator and seeds it;
- ``demo.toml``: the demo's configuration;
- :mod:`~service.demo.app`: the demo's example application (authorizer, models, fixtures).
"""
