"""A small alliance server for end-to-end tests, arranged with SimCord builders.

The alliance itself is wired by the admin through the real slash commands, so every test that
uses the world also exercises `/alliance setup`, `group bind`, `org add` and `member link`.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord
import simcord


@dataclass
class World:
    env: simcord.Env
    guild: simcord.GuildHandle
    general: simcord.ChannelHandle
    announcements: simcord.ChannelHandle
    review: simcord.ChannelHandle
    watches: simcord.ChannelHandle
    admin_role: simcord.RoleHandle
    reviewer_role: simcord.RoleHandle
    watches_role: simcord.RoleHandle
    watches_lead_role: simcord.RoleHandle
    owner: simcord.MemberActor  # Manage Server
    admin: simcord.MemberActor  # alliance admin role only
    reviewer: simcord.MemberActor
    alice: simcord.MemberActor  # Vantor Watches, Watches & Jewellery member
    lead: simcord.MemberActor  # Vantor Watches, Watches & Jewellery lead
    outsider: simcord.MemberActor  # no link, no role


def arrange(env: simcord.Env) -> World:
    guild = env.create_guild("Alliance")
    general = guild.create_text_channel("general")
    announcements = guild.create_text_channel("announcements")
    review = guild.create_text_channel("takedown-review")
    watches = guild.create_text_channel("watches-jewellery")
    manage = guild.create_role("Server Managers", permissions=discord.Permissions(manage_guild=True))
    admin_role = guild.create_role("Alliance Admin")
    reviewer_role = guild.create_role("IP Team")
    watches_role = guild.create_role("Watches WG")
    watches_lead_role = guild.create_role("Watches WG Lead")
    return World(
        env=env,
        guild=guild,
        general=general,
        announcements=announcements,
        review=review,
        watches=watches,
        admin_role=admin_role,
        reviewer_role=reviewer_role,
        watches_role=watches_role,
        watches_lead_role=watches_lead_role,
        owner=guild.add_member(env.create_user("olivia"), roles=[manage]),
        admin=guild.add_member(env.create_user("adam"), roles=[admin_role]),
        reviewer=guild.add_member(env.create_user("rita"), roles=[reviewer_role]),
        alice=guild.add_member(env.create_user("alice"), roles=[watches_role]),
        lead=guild.add_member(env.create_user("leo"), roles=[watches_role, watches_lead_role]),
        outsider=guild.add_member(env.create_user("oscar")),
    )


async def wire(world: World) -> World:
    """Set the alliance up the way an admin would, through the commands."""
    owner, w = world.owner, world
    await owner.slash(
        w.general,
        "alliance setup",
        announcements=w.announcements,
        review_channel=w.review,
        reviewer_role=w.reviewer_role,
        admin_role=w.admin_role,
        timezone="Asia/Shanghai",
    )
    await owner.slash(
        w.general,
        "alliance group bind",
        group="watches-jewellery",
        channel=w.watches,
        role=w.watches_role,
        lead_role=w.watches_lead_role,
    )
    await owner.slash(w.general, "alliance org add", name="Vantor Watches", group="watches-jewellery")
    await owner.slash(w.general, "alliance member link", user=w.alice, org="Vantor Watches")
    await owner.slash(w.general, "alliance member link", user=w.lead, org="Vantor Watches")
    return world


async def grant_role(env: simcord.Env, member: simcord.MemberActor, role: simcord.RoleHandle) -> None:
    """A moderator gives `member` a role (SimCord has no public builder for it yet)."""
    env.backend.add_member_role(env.guild.id, member.id, role.id)
    await env.settle()
