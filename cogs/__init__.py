"""The Discord surface: one module per user-facing area, each with an ``async def setup(bot)``."""
