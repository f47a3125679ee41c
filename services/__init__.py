"""The domain layer: GW2 API client, match analysis, key vault, squad optimizer, Mistral composer.

Nothing here imports ``discord``, ``bot`` or ``cogs``; every module is usable from a CLI or a test.
"""
