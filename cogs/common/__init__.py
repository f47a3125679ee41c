"""Helpers every cog needs (as RoboDanny's ``cogs/utils``): answering interactions, one error
wrapper for buttons and modals, permission checks, and formatters (durations, map names, colours).

This package is **not** an extension: it has no ``setup`` and is not listed in
``bot.client.EXTENSIONS`` (the only modules the bot loads as extensions). Cogs import it like any
module; a cog never imports another cog's extension module.
"""
