"""A small fake of Discord's REST API and websocket gateway, for end-to-end tests.

It speaks enough of Discord for discord.py's start-up, the bot's command sync, and users acting
through interactions, messages and role changes:

- REST under `/api/v10`: `GET /users/@me`, `GET /users/{user}`, `GET /oauth2/applications/@me`,
  `GET /gateway`, `GET /gateway/bot` (which names this server's own websocket URL) and the bulk
  command overwrites `PUT /applications/{app}/commands` and
  `PUT /applications/{app}/guilds/{guild}/commands`, which answer with the created commands (ids
  assigned) as Discord does (optionally held until `command_sync_quorum` of them have arrived, a
  start-up barrier for several clients). Messages: `POST /channels/{channel}/messages` (JSON or
  multipart with files) answers with the created message (author: the bot user) for a text
  channel of a configured guild or a DM channel opened with `POST /users/@me/channels`, and
  404 Unknown Channel otherwise; with `enforce_nonce`, a repeat of a nonce seen in the last
  `NONCE_WINDOW` seconds answers with the message already created and creates nothing, as
  Discord does. `GET`/`PATCH /channels/{channel}/messages/{message}` read and edit one.
  Interactions: `POST /interactions/{id}/{token}/callback` (with `?with_response`) and the
  interaction webhook (`GET`/`PATCH /webhooks/{app}/{token}/messages/@original`, follow-ups
  `POST /webhooks/{app}/{token}`). Attachments the test registers (`add_attachment`) are served
  from `/attachments/…`. Every other route gets a JSON 404. Routes that need a token answer 401
  unless `Authorization` is `Bot <token>`.
- the gateway at `/gateway-ws`: HELLO (op 10), heartbeat ACKs (op 1 → op 11), IDENTIFY (op 2) →
  READY and one GUILD_CREATE per configured guild (its `text_channels`, `roles` and `members`),
  REQUEST_GUILD_MEMBERS (op 8) → an empty GUILD_MEMBERS_CHUNK, RESUME (op 6) of a known session →
  the dispatches the client missed, then RESUMED (an unknown or invalidated one →
  INVALID_SESSION). Payloads are sent as JSON text, or as a `zlib-stream` (each message
  compressed with a Z_SYNC_FLUSH suffix) or `zstd-stream` when the client asks for it with
  `?compress=` on the URL, as discord.py does.

A test acts as users with `slash`, `click` (a button), `post_as` (MESSAGE_CREATE) and
`set_roles` (GUILD_MEMBER_UPDATE); it injects gateway faults with `request_reconnect` (op 7),
`drop_connection` (a close code) and `invalidate_session` (op 9), and it can `hold` the answer
to a route (Discord accepted the request or not) to stop the bot at a chosen point. Dispatches
made while the bot is disconnected are kept in the session and replayed on RESUME.

Everything is recorded (`requests`, `gateway_sessions`, `command_syncs`, `posted_messages`,
`messages`, `interactions`, each interaction with when it was dispatched, acknowledged and
answered) so tests can assert on the traffic the client really produced, and bench/live.py can
time it. It listens on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.parser
import email.policy
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway-ws"  # not derivable from the API base: only `GET /gateway/bot` tells it
HEARTBEAT_INTERVAL_MS = 41_250

NONCE_WINDOW = 300.0  # seconds Discord remembers an `enforce_nonce` nonce ("the past few minutes")

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_GUILD_MEMBERS = 0, 1, 2, 6, 7, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
CLOSE_UNKNOWN_ERROR, CLOSE_DECODE_ERROR, CLOSE_AUTHENTICATION_FAILED = 4000, 4002, 4004
GUILD_TEXT, DM = 0, 1  # channel types
# Interaction types, and the callback types that create or update the response message.
APPLICATION_COMMAND, MESSAGE_COMPONENT = 2, 3
MESSAGE_CALLBACKS = {4: "message", 5: "deferred message", 7: "update message"}
SHOWN_CALLBACKS = {4, 7, 9}  # a message, an updated message, a modal: the user sees an answer at once
EPHEMERAL = 1 << 6  # message flag
BUTTON = 2  # component type

Json = dict[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the server saw it (websocket upgrades included)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass(frozen=True)
class PostedFile:
    """A file uploaded with a message (a `files[n]` part of a multipart body)."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class PostedMessage:
    """One message the client created (or, in `messages`, its latest edit), as answered."""

    id: int
    channel_id: int
    content: str
    payload: Json  # the JSON body (or the multipart `payload_json`), edits merged in
    files: tuple[PostedFile, ...] = ()
    answer: Json = field(default_factory=dict)  # the message object Discord answered with

    def custom_id(self, label: str) -> str:
        """The custom_id of the button labelled `label` on this message."""
        for row in self.payload.get("components") or []:
            for component in row.get("components", []):
                if component.get("label") == label:
                    return str(component["custom_id"])
        raise LookupError(f"no button {label!r} on message {self.id}: {self.payload.get('components')}")


@dataclass(frozen=True)
class Attachment:
    """A file a user attached to a command, served by the fake at `url`."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str

    def payload(self) -> Json:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


@dataclass
class Interaction:
    """One interaction the fake dispatched, and the bot's answers to it."""

    id: int
    token: str
    payload: Json
    callbacks: list[Json] = field(default_factory=list)  # callback bodies, in order
    original: PostedMessage | None = None  # the response message, as last edited
    followups: list[PostedMessage] = field(default_factory=list)
    # time.monotonic() moments, for latency measurements (bench/live.py): the dispatch, the
    # first callback (Discord's 3-second deadline), and the first thing the user saw (`answer`).
    dispatched_at: float = field(default_factory=time.monotonic)
    acknowledged_at: float | None = None
    answered_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether the bot answered the interaction (Discord then shows no failure)."""
        return bool(self.callbacks)

    @property
    def callback_types(self) -> list[int]:
        return [int(body.get("type", 0)) for body in self.callbacks]

    def texts(self) -> list[str]:
        """Everything the user was shown: the response (as last edited) and the follow-ups."""
        return [m.content for m in ([self.original] if self.original else []) + self.followups]

    def answer(self) -> None:
        """The user sees an answer now: a message, an updated message or a modal; after a
        deferral ("thinking…"), the first edit of the response or the first follow-up."""
        if self.answered_at is None:
            self.answered_at = time.monotonic()


@dataclass
class Hold:
    """A request the fake keeps waiting (see `FakeDiscord.hold`). `accept`: Discord did the work
    (e.g. created the message) and only its answer is late; else nothing is done and, once
    released, it answers 503."""

    method: str
    path: re.Pattern[str]
    accept: bool
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    request: RecordedRequest | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class Failure:
    """Answers the fake gives, in order, to requests matching `method` and `path` (see
    `FakeDiscord.fail`): an HTTP status, and for 429 the rate-limit headers and body Discord
    sends (route or global, with its retry-after)."""

    method: str
    path: re.Pattern[str]
    statuses: list[int]
    retry_after: float
    global_limit: bool
    answered: list[int] = field(default_factory=list)

    def response(self, status: int) -> web.Response:
        if status != 429:
            return _error(status, f"{status}: injected by the test", 0)
        headers = {
            "Retry-After": str(self.retry_after),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": str(self.retry_after),
            "X-RateLimit-Bucket": "fake-bucket",
            "X-RateLimit-Scope": "global" if self.global_limit else "user",
            "Via": "1.1 google",  # Discord's API answers come through Google's front end (discord.py checks)
        }
        if self.global_limit:
            headers["X-RateLimit-Global"] = "true"
        response = _json(
            {"message": "You are being rate limited.", "retry_after": self.retry_after, "global": self.global_limit},
            status=429,
        )
        response.headers.update(headers)
        return response


@dataclass
class GatewaySession:
    """One websocket connection to the gateway and what the client sent on it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    received: list[Json] = field(default_factory=list)
    identify: Json | None = None
    resume: Json | None = None  # the RESUME payload, if the client resumed on this connection
    session_id: str | None = None  # the Discord session it serves (after READY or RESUMED)
    heartbeats: int = 0
    close_code: int | None = None
    error: str | None = None

    @property
    def identified(self) -> bool:
        return self.identify is not None

    @property
    def resumed(self) -> bool:
        """RESUME was accepted: the missed dispatches were replayed, then RESUMED."""
        return self.resume is not None and self.session_id is not None


@dataclass
class _Session:
    """A Discord gateway session: its dispatches (for replay on RESUME) outlive a connection."""

    id: str
    events: list[Json] = field(default_factory=list)
    live: Callable[[Json], Any] | None = None  # sends on the connection serving it, if any
    invalid: bool = False

    def next_sequence(self) -> int:
        return len(self.events) + 1


class _Encoder:
    """Frames outgoing gateway payloads as the client's `compress` query parameter asks."""

    def __init__(self, compress: str | None) -> None:
        self.compress = compress
        self._zlib: Any = None
        self._zstd: Any = None
        if compress == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif compress == "zstd-stream":
            self._zstd = _zstd_compressor()
        elif compress is not None:
            raise ValueError(f"unsupported compress={compress!r}")

    def encode(self, payload: Json) -> str | bytes:
        text = json.dumps(payload, separators=(",", ":"))
        if self._zlib is not None:
            # One zlib stream per connection; each message ends with the Z_SYNC_FLUSH suffix 00 00 ff ff.
            data: bytes = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
            return data
        if self._zstd is not None:
            return bytes(self._zstd(text.encode()))
        return text


def _zstd_compressor() -> Callable[[bytes], bytes]:
    """A streaming zstd compressor flushing one block per message (what discord.py decodes
    when `zstandard` or Python 3.14's `compression.zstd` is importable)."""
    try:
        import zstandard  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        from compression import zstd  # type: ignore[import-not-found, unused-ignore]

        compressor = zstd.ZstdCompressor()
        return lambda data: compressor.compress(data, mode=zstd.ZstdCompressor.FLUSH_BLOCK)  # type: ignore[no-any-return, unused-ignore]
    stream = zstandard.ZstdCompressor().compressobj()
    return lambda data: stream.compress(data) + stream.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)  # type: ignore[no-any-return, unused-ignore]


class FakeDiscord:
    """The fake server. `async with FakeDiscord(token=..., guild_ids=[...]) as fake:` starts it."""

    def __init__(
        self,
        *,
        token: str,
        guild_ids: Sequence[int] = (),
        application_id: int = 900_000_000_000_000_001,
        bot_user_id: int | None = None,
        bot_name: str = "alliance-bot",
        text_channels: Mapping[int, Mapping[int, str]] | None = None,
        roles: Mapping[int, Mapping[int, str]] | None = None,
        members: Mapping[int, Mapping[int, Sequence[int]]] | None = None,
        command_sync_quorum: int = 1,
        quorum_timeout: float = 30.0,
    ) -> None:
        """`text_channels`: guild id → {channel id: name}, the text channels each guild has
        (sent in its GUILD_CREATE; messages can be posted there, and in DMs, and nowhere else).
        `roles`: guild id → {role id: name}; `members`: guild id → {user id: role ids}, the
        members besides the bot (user names are made up from the id).

        `command_sync_quorum`: hold the answers to bulk command overwrites until this many have
        arrived (at most `quorum_timeout` seconds), so that several clients leave that step of
        their start-up together, e.g. to make two bot processes race for the same work."""
        self.token = token
        self.guild_ids = tuple(guild_ids)
        self.text_channels = {guild: dict(channels) for guild, channels in (text_channels or {}).items()}
        self.roles = {guild: dict(names) for guild, names in (roles or {}).items()}
        self.members = {
            guild: {user: list(ids) for user, ids in users.items()} for guild, users in (members or {}).items()
        }
        unknown = (set(self.text_channels) | set(self.roles) | set(self.members)) - set(self.guild_ids)
        if unknown:
            raise ValueError(f"channels, roles or members for guilds that are not configured: {sorted(unknown)}")
        self.application_id = application_id
        self.bot_user_id = bot_user_id if bot_user_id is not None else application_id
        self.bot_name = bot_name
        self.requests: list[RecordedRequest] = []
        self.gateway_sessions: list[GatewaySession] = []
        # guild id (None for global) → the command payloads of the latest bulk overwrite
        self.command_syncs: dict[int | None, list[Json]] = {}
        self.posted_messages: list[PostedMessage] = []  # every message created, in order
        self.messages: dict[int, PostedMessage] = {}  # message id → its current state (edits applied)
        self.interactions: list[Interaction] = []
        self._interactions_by_token: dict[str, Interaction] = {}  # a load test answers thousands
        self.deduplicated_posts = 0  # message POSTs answered from an earlier nonce, creating nothing
        self.dm_channels: dict[int, int] = {}  # user id → their DM channel with the bot
        self.attachments: dict[int, Attachment] = {}
        self.holds: list[Hold] = []
        self.failures: list[Failure] = []
        self._nonces: dict[str, tuple[float, PostedMessage]] = {}
        self._sessions: dict[str, _Session] = {}
        self._current: _Session | None = None  # the session of the latest IDENTIFY
        self.command_sync_quorum = command_sync_quorum
        self.quorum_timeout = quorum_timeout
        self._quorum_reached = asyncio.Event()
        self._ids = itertools.count(910_000_000_000_000_000)
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = self._make_app()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, shutdown_timeout=2.0, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        assert host == "127.0.0.1", host
        self._port = int(port)

    async def close(self) -> None:
        for hold in self.holds:
            hold.release()
        for socket in list(self._sockets):
            await socket.close(code=1001, message=b"server shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What to put in DISCORD_API_BASE."""
        return self.origin + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What `GET /gateway/bot` answers; the client adds its query (v, encoding, compress)."""
        return f"ws://127.0.0.1:{self.port}{GATEWAY_PATH}"

    # ------------------------------------------------------------------ for assertions

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def messages_in(self, channel_id: int) -> list[PostedMessage]:
        """The messages created in the channel, in their current state (edits applied)."""
        return [self.messages[m.id] for m in self.posted_messages if m.channel_id == channel_id]

    def dms_to(self, user_id: int) -> list[PostedMessage]:
        channel = self.dm_channels.get(user_id)
        return [] if channel is None else self.messages_in(channel)

    def dm_channel(self, user_id: int) -> int:
        """The id of the user's DM channel with the bot (the one `POST /users/@me/channels` opens)."""
        return self.dm_channels.setdefault(user_id, next(self._ids))

    def guild_of_channel(self, channel_id: int) -> int | None:
        for guild_id, channels in self.text_channels.items():
            if channel_id in channels:
                return guild_id
        return None

    @property
    def connected(self) -> bool:
        """A gateway connection is open and serves a session (after READY or RESUMED)."""
        return self._current is not None and self._current.live is not None

    def summary(self) -> str:
        """Every request seen, one per line, for assertion messages."""
        lines = [f"{r.method} {r.path}" for r in self.requests]
        for session in self.gateway_sessions:
            ops = [m.get("op") for m in session.received]
            lines.append(f"gateway {session.query}: ops {ops}, close {session.close_code}, error {session.error}")
        return "\n".join(lines) or "(no traffic)"

    async def wait_for(
        self,
        condition: Callable[[], bool],
        *,
        within: float,
        abort: Callable[[], bool] = lambda: False,
        interval: float = 0.05,
    ) -> bool:
        """Poll until `condition()` holds (True), or `abort()` holds or `within` seconds pass (False)."""
        deadline = time.monotonic() + within
        while not condition():
            if abort() or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(interval)
        return True

    # ------------------------------------------------------------------ payloads

    def bot_user(self) -> Json:
        return {
            "id": str(self.bot_user_id),
            "username": self.bot_name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "flags": 0,
            "public_flags": 0,
            "verified": True,
            "mfa_enabled": False,
        }

    def owner_user(self) -> Json:
        return {
            "id": "900000000000000999",
            "username": "owner",
            "discriminator": "0",
            "global_name": "Owner",
            "avatar": None,
            "public_flags": 0,
        }

    def application(self) -> Json:
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "description": "",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self.owner_user(),
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
        }

    def guild(self, guild_id: int) -> Json:
        return {
            "id": str(guild_id),
            "name": f"Guild {guild_id}",
            "icon": None,
            "owner_id": self.owner_user()["id"],
            "features": [],
            "unavailable": False,
            "large": False,
            "member_count": 1,
            "joined_at": "2026-01-01T00:00:00+00:00",
            "roles": [
                {
                    "id": str(role_id),
                    "name": name,
                    "permissions": "0",
                    "position": position,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
                for position, (role_id, name) in enumerate(
                    [(guild_id, "@everyone"), *self.roles.get(guild_id, {}).items()]
                )
            ],
            "members": [
                {
                    "user": self.bot_user(),
                    "roles": [],
                    "joined_at": "2026-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                },
                *(self.member(guild_id, user_id) for user_id in self.members.get(guild_id, {})),
            ],
            "channels": [
                self.text_channel(guild_id, channel_id, name, position)
                for position, (channel_id, name) in enumerate(self.text_channels.get(guild_id, {}).items())
            ],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def user(self, user_id: int) -> Json:
        return {
            "id": str(user_id),
            "username": f"user{user_id}",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": False,
            "public_flags": 0,
        }

    def member(self, guild_id: int, user_id: int) -> Json:
        return {
            "user": self.user(user_id),
            "roles": [str(role) for role in self.members[guild_id][user_id]],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "0",
        }

    def text_channel(self, guild_id: int, channel_id: int, name: str, position: int = 0) -> Json:
        return {
            "id": str(channel_id),
            "type": GUILD_TEXT,
            "guild_id": str(guild_id),
            "name": name,
            "position": position,
            "permission_overwrites": [],
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "default_auto_archive_duration": 1440,
            "flags": 0,
        }

    def message(
        self, message_id: int, channel_id: int, payload: Json, files: Sequence[PostedFile], author: Json | None = None
    ) -> Json:
        """A created message as Discord answers it (no `guild_id`, like the REST answer)."""
        return {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 19 if payload.get("message_reference") else 0,
            "content": str(payload.get("content") or ""),
            "author": author or self.bot_user(),
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": [
                {
                    "id": str(next(self._ids)),
                    "filename": file.filename or file.field,
                    "size": len(file.data),
                    "url": f"{self.origin}/attachments/{channel_id}/{message_id}/{file.filename}",
                    "proxy_url": f"{self.origin}/attachments/{channel_id}/{message_id}/{file.filename}",
                    "content_type": file.content_type,
                }
                for file in files
            ],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "flags": int(payload.get("flags") or 0),
            **({"nonce": payload["nonce"]} if "nonce" in payload else {}),
            **({"message_reference": payload["message_reference"]} if payload.get("message_reference") else {}),
        }

    # ------------------------------------------------------------------ acting as users

    def add_attachment(self, filename: str, data: bytes, content_type: str = "text/csv") -> Attachment:
        """A file a user is about to attach to a command; the bot downloads it from the fake."""
        attachment_id = next(self._ids)
        url = f"{self.origin}/attachments/{attachment_id}/{filename}"
        attachment = Attachment(attachment_id, filename, content_type, data, url)
        self.attachments[attachment_id] = attachment
        return attachment

    async def slash(
        self, guild_id: int, channel_id: int, user_id: int, command: str, **options: str | int | bool | Attachment
    ) -> Interaction:
        """A user runs a slash command (`"takedown bulk"`), with option types read from the
        synced command definitions, as the Discord client would send it."""
        root, *path = command.split()
        commands = self.command_syncs.get(guild_id, [])
        definition = next((c for c in commands if c.get("name") == root), None)
        if definition is None:
            raise LookupError(f"/{root} was not synced to guild {guild_id}")
        node, chain = definition, []
        for name in path:
            node = next(o for o in node.get("options", []) if o.get("name") == name)
            chain.append(node)
        types = {option["name"]: option["type"] for option in node.get("options", [])}
        leaf = [
            {"name": name, "type": types[name], "value": str(value.id) if isinstance(value, Attachment) else value}
            for name, value in options.items()
        ]
        for step in reversed(chain):
            leaf = [{"name": step["name"], "type": step["type"], "options": leaf}]
        attachments = {str(v.id): v.payload() for v in options.values() if isinstance(v, Attachment)}
        data = {
            "id": str(next(self._ids)),
            "name": root,
            "type": 1,
            "guild_id": str(guild_id),
            "options": leaf,
            **({"resolved": {"attachments": attachments}} if attachments else {}),
        }
        return await self._interact(APPLICATION_COMMAND, guild_id, channel_id, user_id, data)

    async def click(self, guild_id: int, user_id: int, message: PostedMessage, custom_id: str) -> Interaction:
        """A user presses the button `custom_id` on `message`."""
        data = {"custom_id": custom_id, "component_type": BUTTON}
        current = self.messages.get(message.id, message)
        return await self._interact(
            MESSAGE_COMPONENT, guild_id, message.channel_id, user_id, data, message=current.answer
        )

    async def _interact(
        self, kind: int, guild_id: int, channel_id: int, user_id: int, data: Json, message: Json | None = None
    ) -> Interaction:
        interaction_id = next(self._ids)
        token = f"itoken-{interaction_id}"
        name = self.text_channels.get(guild_id, {}).get(channel_id, "channel")
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild_id),
            "channel_id": str(channel_id),
            "channel": self.text_channel(guild_id, channel_id, name),
            "member": self.member(guild_id, user_id),
            "token": token,
            "version": 1,
            "app_permissions": "0",
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
            **({"message": message} if message is not None else {}),
        }
        interaction = Interaction(interaction_id, token, payload)
        self.interactions.append(interaction)
        self._interactions_by_token[token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def post_as(self, guild_id: int, channel_id: int, user_id: int, content: str) -> PostedMessage:
        """A member writes in a channel (MESSAGE_CREATE)."""
        message_id = next(self._ids)
        answer = self.message(message_id, channel_id, {"content": content}, [], author=self.user(user_id))
        member = {k: v for k, v in self.member(guild_id, user_id).items() if k != "user"}
        await self.dispatch("MESSAGE_CREATE", {**answer, "guild_id": str(guild_id), "member": member})
        return self._store(PostedMessage(message_id, channel_id, content, {"content": content}, (), answer))

    async def set_roles(self, guild_id: int, user_id: int, roles: Sequence[int]) -> None:
        """A member's roles change (GUILD_MEMBER_UPDATE)."""
        self.members[guild_id][user_id] = list(roles)
        await self.dispatch("GUILD_MEMBER_UPDATE", {"guild_id": str(guild_id), **self.member(guild_id, user_id)})

    # ------------------------------------------------------------------ gateway control

    async def dispatch(self, event: str, data: Json) -> None:
        """Send an event in the current session; if no connection serves it right now, the
        event waits in the session and is replayed when the client resumes."""
        session = self._current
        if session is None:
            raise RuntimeError("no gateway session: the client never identified")
        payload = {"op": DISPATCH, "t": event, "s": session.next_sequence(), "d": data}
        session.events.append(payload)
        if session.live is not None:
            await session.live(payload)

    async def request_reconnect(self) -> None:
        """op 7 RECONNECT: the client should reconnect and resume."""
        await self._live_send({"op": RECONNECT, "d": None})

    async def invalidate_session(self) -> None:
        """op 9 INVALID_SESSION (not resumable): the client must identify again."""
        if self._current is not None:
            self._current.invalid = True
        await self._live_send({"op": INVALID_SESSION, "d": False})

    async def drop_connection(self, code: int = CLOSE_UNKNOWN_ERROR) -> None:
        """Close the gateway connection with `code` (4000: a resumable error)."""
        for socket in list(self._sockets):
            await socket.close(code=code, message=b"fake-discord dropped the connection")

    async def _live_send(self, payload: Json) -> None:
        if self._current is None or self._current.live is None:
            raise RuntimeError("no live gateway connection")
        await self._current.live(payload)

    def fail(
        self, method: str, path: str, statuses: Sequence[int], *, retry_after: float = 0.25, global_limit: bool = False
    ) -> Failure:
        """Answer the next requests matching `method` and the regular expression `path` (under
        the API prefix) with `statuses`, one each, before carrying on normally."""
        failure = Failure(method, re.compile(API_PREFIX + path), list(statuses), retry_after, global_limit)
        self.failures.append(failure)
        return failure

    def hold(self, method: str, path: str, *, accept: bool) -> Hold:
        """Keep the next request matching `method` and the regular expression `path` (under the
        API prefix) waiting until `release()`d: with `accept`, it is carried out first and only
        the answer waits (Discord did it, the client never heard); else nothing is done."""
        hold = Hold(method, re.compile(API_PREFIX + path), accept)
        self.holds.append(hold)
        return hold

    # ------------------------------------------------------------------ application

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_fallback])
        api = API_PREFIX
        app.router.add_get(f"{api}/users/@me", self._users_me)
        app.router.add_post(f"{api}/users/@me/channels", self._open_dm)
        app.router.add_get(f"{api}/users/{{user_id}}", self._get_user)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application_me)
        app.router.add_get(f"{api}/gateway", self._gateway)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_put(f"{api}/applications/{{app_id}}/commands", self._bulk_commands)
        app.router.add_put(f"{api}/applications/{{app_id}}/guilds/{{guild_id}}/commands", self._bulk_commands)
        app.router.add_post(f"{api}/channels/{{channel_id}}/messages", self._create_message)
        app.router.add_get(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._get_message)
        app.router.add_patch(f"{api}/channels/{{channel_id}}/messages/{{message_id}}", self._edit_message)
        app.router.add_post(f"{api}/interactions/{{interaction_id}}/{{token}}/callback", self._interaction_callback)
        webhook = f"{api}/webhooks/{{app_id}}/{{token}}"
        app.router.add_post(webhook, self._followup)
        app.router.add_get(webhook + "/messages/{message_id}", self._get_response)
        app.router.add_patch(webhook + "/messages/{message_id}", self._edit_response)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._attachment)
        app.router.add_get(GATEWAY_PATH, self._websocket)
        return app

    @web.middleware
    async def _record_and_fallback(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(recorded)
        failure = next(
            (
                f
                for f in self.failures
                if f.statuses and f.method == request.method and f.path.fullmatch(request.path)
            ),
            None,
        )
        if failure is not None:
            status = failure.statuses.pop(0)
            failure.answered.append(status)
            return failure.response(status)
        hold = next(
            (
                h
                for h in self.holds
                if h.request is None and h.method == request.method and h.path.fullmatch(request.path)
            ),
            None,
        )
        if hold is not None:
            hold.request = recorded
            hold.arrived.set()
            if not hold.accept:
                await hold.released.wait()
                return _error(503, "held by the test, then dropped", 0)
        try:
            response: web.StreamResponse = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return _error(404, "404: Not Found", 0)
        if hold is not None:
            await hold.released.wait()
        return response

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _users_me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        return _json(self.bot_user())

    async def _application_me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        return _json(self.application())

    async def _gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def _bulk_commands(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        if request.match_info["app_id"] != str(self.application_id):
            return _error(404, "Unknown Application", 10002)
        guild = request.match_info.get("guild_id")
        guild_id = int(guild) if guild is not None else None
        if guild_id is not None and guild_id not in self.guild_ids:
            return _error(403, "Missing Access", 50001)
        try:
            payload = await request.json()  # the middleware already read (and cached) the body
        except ValueError:
            payload = None
        if not isinstance(payload, list):
            return _error(400, "Invalid Form Body", 50035)
        created = [
            {
                "type": 1,
                **command,
                "id": str(next(self._ids)),
                "application_id": str(self.application_id),
                **({"guild_id": str(guild_id)} if guild_id is not None else {}),
                "version": str(next(self._ids)),
            }
            for command in payload
        ]
        self.command_syncs[guild_id] = payload
        await self._await_quorum()
        return _json(created)

    async def _await_quorum(self) -> None:
        arrived = sum(1 for r in self.requests if r.method == "PUT" and r.path.endswith("/commands"))
        if arrived >= self.command_sync_quorum:
            self._quorum_reached.set()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._quorum_reached.wait(), self.quorum_timeout)

    async def _get_user(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        user = request.match_info["user_id"]
        if not any(user.isdigit() and int(user) in members for members in self.members.values()):
            return _error(404, "Unknown User", 10013)
        return _json(self.user(int(user)))

    async def _open_dm(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        body = await request.json()
        user_id = int(body["recipient_id"])
        channel_id = self.dm_channel(user_id)
        return _json(
            {"id": str(channel_id), "type": DM, "recipients": [self.user(user_id)], "last_message_id": None, "flags": 0}
        )

    def _channel(self, request: web.Request) -> int | None:
        """The channel of the route if messages can live there (a guild text channel or a DM)."""
        channel = request.match_info["channel_id"]
        channel_id = int(channel) if channel.isdigit() else -1
        known = self.guild_of_channel(channel_id) is not None or channel_id in self.dm_channels.values()
        return channel_id if known else None

    def _stored(self, request: web.Request, channel_id: int) -> PostedMessage | None:
        message = request.match_info["message_id"]
        found = self.messages.get(int(message)) if message.isdigit() else None
        return found if found is not None and found.channel_id == channel_id else None

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        channel_id = self._channel(request)
        if channel_id is None:
            return _error(404, "Unknown Channel", 10003)
        body = await _message_body(request)
        if isinstance(body, web.Response):
            return body
        payload, files = body
        if not payload.get("content") and not payload.get("embeds") and not files:
            return _error(400, "Cannot send an empty message", 50006)
        nonce = str(payload.get("nonce") or "")
        if nonce and payload.get("enforce_nonce"):
            seen = self._nonces.get(nonce)
            if seen is not None and time.monotonic() - seen[0] < NONCE_WINDOW:
                self.deduplicated_posts += 1
                return _json(self.messages[seen[1].id].answer)
        message = self._create(channel_id, payload, files)
        if nonce:
            self._nonces[nonce] = (time.monotonic(), message)
        return _json(message.answer)

    def _create(self, channel_id: int, payload: Json, files: Sequence[PostedFile]) -> PostedMessage:
        message_id = next(self._ids)
        answer = self.message(message_id, channel_id, payload, files)
        message = PostedMessage(message_id, channel_id, answer["content"], payload, tuple(files), answer)
        self.posted_messages.append(message)
        return self._store(message)

    def _store(self, message: PostedMessage) -> PostedMessage:
        self.messages[message.id] = message
        return message

    def _edit(self, message: PostedMessage, payload: Json, files: Sequence[PostedFile]) -> PostedMessage:
        """Apply an edit: the fields it names replace the old ones (new files replace the old)."""
        merged = {**message.payload, **payload}
        kept = tuple(files) if files or "attachments" in payload else message.files
        answer = self.message(message.id, message.channel_id, merged, kept, author=message.answer.get("author"))
        answer["edited_timestamp"] = datetime.now(UTC).isoformat()
        return self._store(
            dataclasses.replace(message, content=answer["content"], payload=merged, files=kept, answer=answer)
        )

    async def _get_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        channel_id = self._channel(request)
        message = self._stored(request, channel_id) if channel_id is not None else None
        return _json(message.answer) if message is not None else _error(404, "Unknown Message", 10008)

    async def _edit_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        channel_id = self._channel(request)
        message = self._stored(request, channel_id) if channel_id is not None else None
        if message is None:
            return _error(404, "Unknown Message", 10008)
        body = await _message_body(request)
        if isinstance(body, web.Response):
            return body
        return _json(self._edit(message, *body).answer)

    # ------------------------------------------------------------------ interaction answers

    def _interaction(self, token: str) -> Interaction | None:
        return self._interactions_by_token.get(token)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request.match_info["token"])
        if interaction is None or request.match_info["interaction_id"] != str(interaction.id):
            return _error(404, "Unknown interaction", 10062)
        if interaction.acknowledged:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        body = await _message_body(request)
        if isinstance(body, web.Response):
            return body
        callback, files = body
        interaction.callbacks.append(callback)
        interaction.acknowledged_at = time.monotonic()
        kind = int(callback.get("type", 0))
        if kind in SHOWN_CALLBACKS:
            interaction.answer()
        data = callback.get("data") or {}
        if kind == 7 and interaction.payload.get("message"):  # update the message the button was on
            target = self.messages.get(int(interaction.payload["message"]["id"]))
            if target is not None:
                target = self._edit(target, data, files)
                interaction.original = target
        elif kind in MESSAGE_CALLBACKS:
            channel_id = int(interaction.payload["channel_id"])
            flags = int(data.get("flags") or 0)
            interaction.original = self._store(self._response_message(channel_id, {**data, "flags": flags}, files))
        return _json(
            {
                "interaction": {
                    "id": str(interaction.id),
                    "type": interaction.payload["type"],
                    **({"response_message_id": str(interaction.original.id)} if interaction.original else {}),
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
                },
                **(
                    {"resource": {"type": kind, "message": interaction.original.answer}}
                    if interaction.original is not None and kind in MESSAGE_CALLBACKS
                    else {}
                ),
            }
        )

    def _response_message(self, channel_id: int, payload: Json, files: Sequence[PostedFile]) -> PostedMessage:
        """A message made by an interaction answer (not in `posted_messages`, which holds the
        bot's own channel posts)."""
        message_id = next(self._ids)
        answer = {**self.message(message_id, channel_id, payload, files), "webhook_id": str(self.application_id)}
        return PostedMessage(message_id, channel_id, answer["content"], payload, tuple(files), answer)

    def _webhook(self, request: web.Request) -> Interaction | web.Response:
        if request.match_info["app_id"] != str(self.application_id):
            return _error(404, "Unknown Webhook", 10015)
        interaction = self._interaction(request.match_info["token"])
        return interaction if interaction is not None else _error(404, "Unknown Webhook", 10015)

    def _response_of(self, request: web.Request, interaction: Interaction) -> PostedMessage | None:
        message = request.match_info["message_id"]
        if message == "@original":
            return interaction.original
        return next((m for m in interaction.followups if str(m.id) == message), None)

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._webhook(request)
        if isinstance(interaction, web.Response):
            return interaction
        if not interaction.acknowledged:
            return _error(404, "Unknown Webhook", 10015)  # a follow-up needs an answered interaction
        body = await _message_body(request)
        if isinstance(body, web.Response):
            return body
        message = self._store(self._response_message(int(interaction.payload["channel_id"]), *body))
        interaction.followups.append(message)
        interaction.answer()
        return _json(message.answer)

    async def _get_response(self, request: web.Request) -> web.Response:
        interaction = self._webhook(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._response_of(request, interaction)
        return _json(message.answer) if message is not None else _error(404, "Unknown Message", 10008)

    async def _edit_response(self, request: web.Request) -> web.Response:
        interaction = self._webhook(request)
        if isinstance(interaction, web.Response):
            return interaction
        message = self._response_of(request, interaction)
        if message is None:
            return _error(404, "Unknown Message", 10008)
        body = await _message_body(request)
        if isinstance(body, web.Response):
            return body
        edited = self._edit(message, *body)
        interaction.answer()
        if message is interaction.original:
            interaction.original = edited
        else:
            interaction.followups = [edited if m.id == edited.id else m for m in interaction.followups]
        return _json(edited.answer)

    async def _attachment(self, request: web.Request) -> web.Response:
        attachment_id = request.match_info["attachment_id"]
        attachment = self.attachments.get(int(attachment_id)) if attachment_id.isdigit() else None
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404)
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    # ------------------------------------------------------------------ gateway

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        connection = GatewaySession(path=request.path, query=dict(request.query), headers=dict(request.headers))
        self.gateway_sessions.append(connection)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            await self._serve_gateway(socket, connection)
        finally:
            self._sockets.discard(socket)
            connection.close_code = socket.close_code
        return socket

    async def _serve_gateway(self, socket: web.WebSocketResponse, connection: GatewaySession) -> None:
        if connection.query.get("encoding", "json") != "json":
            connection.error = f"unsupported encoding={connection.query['encoding']!r}"
            await socket.close(code=CLOSE_DECODE_ERROR, message=connection.error.encode())
            return
        try:
            encoder = _Encoder(connection.query.get("compress"))
        except (ValueError, ImportError) as error:
            connection.error = str(error)
            await socket.close(code=CLOSE_UNKNOWN_ERROR, message=connection.error.encode()[:120])
            return

        lock = asyncio.Lock()  # the test's dispatches and the replies here share one (compressed) stream

        async def send(payload: Json) -> None:
            async with lock:
                message = encoder.encode(payload)
                if isinstance(message, bytes):
                    await socket.send_bytes(message)
                else:
                    await socket.send_str(message)

        session: _Session | None = None
        try:
            await send({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for message in socket:
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    break
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    connection.error = "undecodable client payload"
                    await socket.close(code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload.")
                    return
                connection.received.append(payload)
                op = payload.get("op")
                data = payload.get("d")
                if op == HEARTBEAT:
                    connection.heartbeats += 1
                    await send({"op": HEARTBEAT_ACK})
                elif op in (IDENTIFY, RESUME):
                    if not isinstance(data, dict) or data.get("token") != self.token:
                        connection.error = "authentication failed"
                        await socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
                        return
                    session = await (self._identify if op == IDENTIFY else self._resume)(connection, data, send)
                elif op == REQUEST_GUILD_MEMBERS and isinstance(data, dict) and session is not None:
                    await self.dispatch(
                        "GUILD_MEMBERS_CHUNK",
                        {
                            "guild_id": str(data.get("guild_id")),
                            "members": [],
                            "chunk_index": 0,
                            "chunk_count": 1,
                            "not_found": [],
                            **({"nonce": data["nonce"]} if "nonce" in data else {}),
                        },
                    )
        finally:
            if session is not None and session.live is send:
                session.live = None  # later dispatches wait for a RESUME

    async def _identify(self, connection: GatewaySession, data: Json, send: Callable[[Json], Any]) -> _Session:
        connection.identify = data
        session = _Session(f"fake-session-{len(self._sessions) + 1}")
        self._sessions[session.id] = session
        if self._current is not None:
            self._current.live = None
        self._current, session.live = session, send
        connection.session_id = session.id
        await self.dispatch("READY", self._ready(session.id))
        for guild_id in self.guild_ids:
            await self.dispatch("GUILD_CREATE", self.guild(guild_id))
        return session

    async def _resume(self, connection: GatewaySession, data: Json, send: Callable[[Json], Any]) -> _Session | None:
        connection.resume = data
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or session.invalid or session is not self._current:
            await send({"op": INVALID_SESSION, "d": False})
            return None
        seq = int(data.get("seq") or 0)
        for event in session.events[seq:]:  # sequence numbers start at 1: events[seq] is seq + 1
            await send(event)
        session.live = send
        connection.session_id = session.id
        await self.dispatch("RESUMED", {})
        return session

    def _ready(self, session_id: str) -> Json:
        return {
            "v": 10,
            "user": self.bot_user(),
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in self.guild_ids],
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }


async def _message_body(request: web.Request) -> tuple[Json, list[PostedFile]] | web.Response:
    """The JSON payload and files of a message-like body (JSON, or multipart with `payload_json`),
    or the 400 Discord answers to anything else."""
    raw = await request.read()  # cached: the middleware read it first
    payload: Any = None
    files: list[PostedFile] = []
    if request.content_type == "multipart/form-data":
        payload, files = _parse_multipart(request.headers["Content-Type"], raw)
    else:
        with suppress(ValueError):
            payload = json.loads(raw) if raw else {}
    if not isinstance(payload, dict):
        return _error(400, "Invalid Form Body", 50035)
    return payload, files


def _parse_multipart(content_type: str, body: bytes) -> tuple[Any, list[PostedFile]]:
    """`payload_json` and the `files[n]` parts of a multipart/form-data body (as discord.py sends)."""
    document = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(document)
    payload: Any = None
    files: list[PostedFile] = []
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(data, bytes):
            continue
        if name == "payload_json":
            try:
                payload = json.loads(data)
            except ValueError:
                payload = None
        else:
            files.append(PostedFile(name, part.get_filename(), part.get_content_type(), data))
    return payload, files


def _json(data: Any, *, status: int = 200) -> web.Response:
    # Exactly `application/json`, as Discord sends it: discord.py compares the header verbatim,
    # so aiohttp's `json_response` (which appends `; charset=utf-8`) would read as plain text.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _error(status: int, message: str, code: int) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _unauthorized() -> web.Response:
    return _error(401, "401: Unauthorized", 0)
