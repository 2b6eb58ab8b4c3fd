"""Test support: a local AWS emulator, misbehaving checks, a running deep-health process."""
