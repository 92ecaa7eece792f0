"""Extension that starts one `WorkingGroupCog` per live working group.

The cog class lives in `cogs.working_group`, a plain module, because `load_extension` executes
an extension module afresh: a class defined in the extension would not be the class the admin
cog and the tests import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.working_group import FileTakedownView, group_cogs, start_group

if TYPE_CHECKING:
    from bot.app import AllianceBot


async def setup(bot: AllianceBot) -> None:
    """Extension entry point: one cog per live group in the database."""
    bot.add_view(FileTakedownView())
    for group in await bot.alliance.groups():
        await start_group(bot, group)


async def teardown(bot: AllianceBot) -> None:
    for cog in group_cogs(bot):
        await bot.remove_cog(cog.qualified_name)
