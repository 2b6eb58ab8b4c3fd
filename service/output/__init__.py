"""Output formats of a report: every format in one list, the health+json body, the terminal table.

- :mod:`~service.output.renderers`: the formats, content negotiation;
- :mod:`~service.output.body`, :mod:`~service.output.body_schema`: ``application/health+json``;
- :mod:`~service.output.table`: the check table for people.
"""
