"""A small fake of Discord's REST API and websocket gateway, for end-to-end tests.

It speaks just enough of Discord for discord.py's start-up and the bot's command sync:

- REST under `/api/v10`: `GET /users/@me`, `GET /oauth2/applications/@me`, `GET /gateway`,
  `GET /gateway/bot` (which names this server's own websocket URL) and the bulk command
  overwrites `PUT /applications/{app}/commands` and `PUT /applications/{app}/guilds/{guild}/commands`,
  which answer with the created commands (ids assigned) as Discord does (optionally held until
  `command_sync_quorum` of them have arrived, a start-up barrier for several clients), and
  `POST /channels/{channel}/messages` (JSON or multipart with files), which answers with the
  created message (author: the bot user) for a text channel of a configured guild and with
  404 Unknown Channel otherwise. Every other route gets a JSON 404. Routes that need a token
  answer 401 unless `Authorization` is `Bot <token>`.
- the gateway at `/gateway-ws`: HELLO (op 10), heartbeat ACKs (op 1 → op 11), IDENTIFY (op 2) →
  READY and one GUILD_CREATE per configured guild (with its `text_channels`), REQUEST_GUILD_MEMBERS (op 8) → an empty
  GUILD_MEMBERS_CHUNK, RESUME (op 6) → INVALID_SESSION. Payloads are sent as JSON text, or as a
  `zlib-stream` (each message compressed with a Z_SYNC_FLUSH suffix) or `zstd-stream` when the
  client asks for it with `?compress=` on the URL, as discord.py does.

Everything is recorded (`requests`, `gateway_sessions`, `command_syncs`, `posted_messages`) so
tests can assert on the traffic the client really produced. It listens on 127.0.0.1 with an ephemeral port.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
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

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
DISPATCH, HEARTBEAT, IDENTIFY, RESUME, REQUEST_GUILD_MEMBERS = 0, 1, 2, 6, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
CLOSE_UNKNOWN_ERROR, CLOSE_DECODE_ERROR, CLOSE_AUTHENTICATION_FAILED = 4000, 4002, 4004
GUILD_TEXT = 0  # channel type

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
    """One message the client created with `POST /channels/{channel}/messages`, as answered."""

    id: int
    channel_id: int
    content: str
    payload: Json  # the JSON body (or the multipart `payload_json`)
    files: tuple[PostedFile, ...] = ()


@dataclass
class GatewaySession:
    """One websocket connection to the gateway and what the client sent on it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    received: list[Json] = field(default_factory=list)
    identify: Json | None = None
    heartbeats: int = 0
    close_code: int | None = None
    error: str | None = None

    @property
    def identified(self) -> bool:
        return self.identify is not None


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
        command_sync_quorum: int = 1,
        quorum_timeout: float = 30.0,
    ) -> None:
        """`text_channels`: guild id → {channel id: name}, the text channels each guild has
        (sent in its GUILD_CREATE; messages can be posted there and nowhere else).

        `command_sync_quorum`: hold the answers to bulk command overwrites until this many have
        arrived (at most `quorum_timeout` seconds), so that several clients leave that step of
        their start-up together, e.g. to make two bot processes race for the same work."""
        self.token = token
        self.guild_ids = tuple(guild_ids)
        self.text_channels = {guild: dict(channels) for guild, channels in (text_channels or {}).items()}
        unknown = set(self.text_channels) - set(self.guild_ids)
        if unknown:
            raise ValueError(f"text_channels for guilds that are not configured: {sorted(unknown)}")
        self.application_id = application_id
        self.bot_user_id = bot_user_id if bot_user_id is not None else application_id
        self.bot_name = bot_name
        self.requests: list[RecordedRequest] = []
        self.gateway_sessions: list[GatewaySession] = []
        # guild id (None for global) → the command payloads of the latest bulk overwrite
        self.command_syncs: dict[int | None, list[Json]] = {}
        self.posted_messages: list[PostedMessage] = []
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
        return [m for m in self.posted_messages if m.channel_id == channel_id]

    def guild_of_channel(self, channel_id: int) -> int | None:
        for guild_id, channels in self.text_channels.items():
            if channel_id in channels:
                return guild_id
        return None

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
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": "0",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "members": [
                {
                    "user": self.bot_user(),
                    "roles": [],
                    "joined_at": "2026-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
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

    def message(self, message_id: int, channel_id: int, payload: Json, files: Sequence[PostedFile]) -> Json:
        """A created message as Discord answers it (no `guild_id`, like the REST answer)."""
        return {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": str(payload.get("content") or ""),
            "author": self.bot_user(),
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
        }

    # ------------------------------------------------------------------ application

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_fallback])
        api = API_PREFIX
        app.router.add_get(f"{api}/users/@me", self._users_me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._application_me)
        app.router.add_get(f"{api}/gateway", self._gateway)
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_put(f"{api}/applications/{{app_id}}/commands", self._bulk_commands)
        app.router.add_put(f"{api}/applications/{{app_id}}/guilds/{{guild_id}}/commands", self._bulk_commands)
        app.router.add_post(f"{api}/channels/{{channel_id}}/messages", self._create_message)
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
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=body,
            )
        )
        try:
            response: web.StreamResponse = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return _error(404, "404: Not Found", 0)
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

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        channel = request.match_info["channel_id"]
        channel_id = int(channel) if channel.isdigit() else -1
        if self.guild_of_channel(channel_id) is None:
            return _error(404, "Unknown Channel", 10003)
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
        if not payload.get("content") and not payload.get("embeds") and not files:
            return _error(400, "Cannot send an empty message", 50006)
        message_id = next(self._ids)
        answer = self.message(message_id, channel_id, payload, files)
        self.posted_messages.append(PostedMessage(message_id, channel_id, answer["content"], payload, tuple(files)))
        return _json(answer)

    # ------------------------------------------------------------------ gateway

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        session = GatewaySession(path=request.path, query=dict(request.query), headers=dict(request.headers))
        self.gateway_sessions.append(session)
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self._sockets.add(socket)
        try:
            await self._serve_gateway(socket, session)
        finally:
            self._sockets.discard(socket)
            session.close_code = socket.close_code
        return socket

    async def _serve_gateway(self, socket: web.WebSocketResponse, session: GatewaySession) -> None:
        if session.query.get("encoding", "json") != "json":
            session.error = f"unsupported encoding={session.query['encoding']!r}"
            await socket.close(code=CLOSE_DECODE_ERROR, message=session.error.encode())
            return
        try:
            encoder = _Encoder(session.query.get("compress"))
        except (ValueError, ImportError) as error:
            session.error = str(error)
            await socket.close(code=CLOSE_UNKNOWN_ERROR, message=session.error.encode()[:120])
            return

        sequence = itertools.count(1)

        async def send(payload: Json) -> None:
            message = encoder.encode(payload)
            if isinstance(message, bytes):
                await socket.send_bytes(message)
            else:
                await socket.send_str(message)

        async def dispatch(event: str, data: Json) -> None:
            await send({"op": DISPATCH, "t": event, "s": next(sequence), "d": data})

        await send({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
        async for message in socket:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                break
            try:
                payload = json.loads(message.data)
            except ValueError:
                session.error = "undecodable client payload"
                await socket.close(code=CLOSE_DECODE_ERROR, message=b"Error while decoding payload.")
                return
            session.received.append(payload)
            op = payload.get("op")
            data = payload.get("d")
            if op == HEARTBEAT:
                session.heartbeats += 1
                await send({"op": HEARTBEAT_ACK})
            elif op == IDENTIFY:
                if not isinstance(data, dict) or data.get("token") != self.token:
                    session.error = "authentication failed"
                    await socket.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
                    return
                session.identify = data
                await dispatch("READY", self._ready(session))
                for guild_id in self.guild_ids:
                    await dispatch("GUILD_CREATE", self.guild(guild_id))
            elif op == REQUEST_GUILD_MEMBERS and isinstance(data, dict):
                await dispatch(
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
            elif op == RESUME:
                await send({"op": INVALID_SESSION, "d": False})

    def _ready(self, session: GatewaySession) -> Json:
        return {
            "v": 10,
            "user": self.bot_user(),
            "guilds": [{"id": str(guild_id), "unavailable": True} for guild_id in self.guild_ids],
            "session_id": f"fake-session-{len(self.gateway_sessions)}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "_trace": ["fake-discord"],
        }


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
