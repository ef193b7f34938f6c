"""Local HTTP fake of the Anthropic Messages API and the OpenAI Chat Completions API.

The real SDKs are pointed at it by ``base_url`` and see the real wire protocols: JSON replies, SSE
streams with chunked transfer-encoding, error bodies in each provider's shape. Each request is answered
by the next queued ``Script`` of its provider, or by the provider's default script when none is queued.

    with FakeLLMServer() as fake:
        client = anthropic.Anthropic(api_key="test", base_url=fake.anthropic_base_url, max_retries=0)
        fake.enqueue("anthropic", Script(kind="status", status=529), Script(text="Hi"))
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["PROVIDERS", "FakeLLMServer", "RecordedRequest", "Script", "estimate_tokens", "split_text"]

PROVIDERS: tuple[str, ...] = ("anthropic", "openai")
KINDS: tuple[str, ...] = ("ok", "status", "timeout", "break", "no_final")
TIMEOUT_FALLBACK_S = 60.0
"""How long a ``timeout`` script with ``delay_s <= 0`` holds the request (``stop()`` releases it earlier)."""

_Request = socket.socket | tuple[bytes, socket.socket]
_Address = tuple[str, int]
_ROUTES: dict[str, str] = {"/v1/messages": "anthropic", "/v1/chat/completions": "openai"}
_REASONS: dict[int, str] = {529: "Overloaded"}

_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}
_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported.",
    ),
    404: (
        "invalid_request_error",
        "model_not_found",
        "The model does not exist or you do not have access to it.",
    ),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


@dataclass
class Script:
    """What the fake does for one request.

    kind: "ok" answers normally; "status" answers with the error ``status``; "timeout" holds the
    request for ``delay_s`` (60 s if 0, or until ``stop()``) then answers as "ok"; "break" streams
    ``break_after`` text deltas then closes the socket without ending the body; "no_final" streams
    every delta, omits the final events and ends the body cleanly. Non-streaming requests: "break"
    sends half the JSON body then closes; "no_final" acts as "ok".
    ``delay_s`` delays the response headers for every kind; ``chunk_delay_s`` precedes each delta.
    Token counts of 0 are estimated from the text (see ``estimate_tokens``).
    Non-streaming Anthropic requests: ``tool_input`` answers with a ``tool_use`` block of the request's first tool
    (stop reason ``tool_use``) instead of the text; ``stop_reason`` overrides the stop reason (e.g. "refusal").
    """

    kind: str = "ok"
    text: str = "Hello from the fake model."
    status: int = 200
    chunks: int = 0
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    break_after: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    tool_input: dict[str, Any] | None = None
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown Script kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == "status" and self.status < 400:
            raise ValueError("a Script of kind 'status' needs an error status (>= 400)")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received on a known route."""

    provider: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any]


def estimate_tokens(text: str) -> int:
    """Deterministic rough token count: a token per four characters, plus one."""
    return len(text) // 4 + 1


def split_text(text: str, chunks: int = 0) -> list[str]:
    """Split ``text`` into word-ish pieces (``chunks`` <= 0) or ``chunks`` near-equal ones; joinable."""
    if not text:
        return []
    if chunks <= 0:
        return re.findall(r"\S+\s*|\s+", text)
    n = min(chunks, len(text))
    bounds = [i * len(text) // n for i in range(n + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(n)]


def _request_text(body: dict[str, Any]) -> str:
    """All prompt text of a request (system, messages, tools), for token estimates."""
    parts: list[str] = []

    def walk(node: object, key: str | None) -> None:
        if isinstance(node, str):
            if key not in ("role", "type"):
                parts.append(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)

    for field_name in ("system", "messages", "tools"):
        walk(body.get(field_name), None)
    return "\n".join(parts)


@dataclass(frozen=True)
class _Usage:
    input: int
    output: int
    cache_read: int
    cache_write: int


def _usage_for(script: Script, body: dict[str, Any]) -> _Usage:
    return _Usage(
        input=script.input_tokens or estimate_tokens(_request_text(body)),
        output=script.output_tokens or estimate_tokens(script.text),
        cache_read=script.cache_read_tokens,
        cache_write=script.cache_write_tokens,
    )


def _sse(event: str | None, data: dict[str, Any] | str) -> bytes:
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {payload}\n\n".encode()


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], fake: FakeLLMServer) -> None:
        self.fake = fake
        self._connections: set[_Request] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn, a reverse DNS lookup that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: _Request, client_address: _Address) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _Request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection so idle keep-alive handler threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            if isinstance(conn, socket.socket):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: _Request, client_address: _Address) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet; tests read ``FakeLLMServer.requests`` instead."""

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:
        self._read_body()
        fake = self.server.fake
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/models":
            self._send_json(404, self._anthropic_error(404, fake._next_id("req_fake")), [])
            return
        # both SDKs list models at /v1/models; the anthropic one sends an anthropic-version header
        provider = "anthropic" if "anthropic-version" in {k.lower() for k in self.headers} else "openai"
        fake._record(RecordedRequest(provider, "/v1/models", {k.lower(): v for k, v in self.headers.items()}, {}))
        script = fake._next_script(provider)
        request_id = fake._next_id("req_fake")
        if script.kind == "status":
            self._send_error(provider, script.status, request_id)
        elif provider == "anthropic":
            model = {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5"}
            payload = {"data": [{**model, "created_at": "2025-10-01T00:00:00Z"}], "has_more": False}
            self._send_json(200, {**payload, "first_id": model["id"], "last_id": model["id"]}, [])
        else:
            model = {"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "openai"}
            self._send_json(200, {"object": "list", "data": [model]}, [])

    def do_POST(self) -> None:
        raw = self._read_body()
        path = self.path.split("?", 1)[0].rstrip("/")
        provider = _ROUTES.get(path)
        if provider is None:
            self._send_json(404, self._anthropic_error(404, self.server.fake._next_id("req_fake")), [])
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._send_error(provider, 400, self.server.fake._next_id("req_fake"))
            return
        fake = self.server.fake
        fake._record(RecordedRequest(provider, path, {k.lower(): v for k, v in self.headers.items()}, body))
        script = fake._next_script(provider)
        request_id = fake._next_id("req_fake")

        delay = script.delay_s
        if script.kind == "timeout" and delay <= 0:
            delay = TIMEOUT_FALLBACK_S
        if delay > 0 and fake._stopping.wait(delay):
            self._cut()
            return
        if script.kind == "status":
            self._send_error(provider, script.status, request_id)
        elif provider == "anthropic":
            self._answer_anthropic(script, body, request_id)
        else:
            self._answer_openai(script, body, request_id)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _head(self, status: int, headers: Iterable[tuple[str, str]]) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = _REASONS.get(status, "Error")
        lines = [f"HTTP/1.1 {status} {reason}", f"Date: {self.date_time_string()}", "Server: fake-llm"]
        lines += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send_json(self, status: int, payload: dict[str, Any], headers: list[tuple[str, str]]) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        head = self._head(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers])
        self.wfile.write(head + data)

    def _cut(self) -> None:
        """Close the connection at once, without finishing the response body."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _id_headers(self, provider: str, request_id: str) -> list[tuple[str, str]]:
        return [("request-id" if provider == "anthropic" else "x-request-id", request_id)]

    @staticmethod
    def _anthropic_error(status: int, request_id: str) -> dict[str, Any]:
        default = ("api_error", "Internal server error") if status >= 500 else ("invalid_request_error", "Error.")
        error_type, message = _ANTHROPIC_ERRORS.get(status, default)
        return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}

    @staticmethod
    def _openai_error(status: int) -> dict[str, Any]:
        default = (
            ("server_error", None, "Server error.") if status >= 500 else ("invalid_request_error", None, "Error.")
        )
        error_type, code, message = _OPENAI_ERRORS.get(status, default)
        return {"error": {"message": message, "type": error_type, "param": None, "code": code}}

    def _send_error(self, provider: str, status: int, request_id: str) -> None:
        headers = self._id_headers(provider, request_id)
        if status == 429:
            headers.append(("retry-after", "0"))
        payload = self._anthropic_error(status, request_id) if provider == "anthropic" else self._openai_error(status)
        self._send_json(status, payload, headers)

    def _send_body_or_break(self, script: Script, payload: dict[str, Any], headers: list[tuple[str, str]]) -> None:
        if script.kind != "break":
            self._send_json(200, payload, headers)
            return
        data = json.dumps(payload, separators=(",", ":")).encode()
        head = self._head(200, [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers])
        self.wfile.write(head + data[: len(data) // 2])
        self._cut()

    def _stream(
        self,
        script: Script,
        headers: list[tuple[str, str]],
        opening: list[bytes],
        deltas: list[bytes],
        closing: list[bytes],
    ) -> None:
        """Send an SSE body: opening events, deltas, closing events, as the script's kind allows."""
        sse_headers = [
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("Cache-Control", "no-cache"),
            ("Transfer-Encoding", "chunked"),
            *headers,
        ]
        self.wfile.write(self._head(200, sse_headers) + _chunk(b"".join(opening)))
        stopping = self.server.fake._stopping
        for i, delta in enumerate(deltas):
            if script.kind == "break" and i >= script.break_after:
                self._cut()
                return
            if script.chunk_delay_s > 0 and stopping.wait(script.chunk_delay_s):
                self._cut()
                return
            self.wfile.write(_chunk(delta))
        if script.kind == "break":
            self._cut()
            return
        tail = b"" if script.kind == "no_final" else b"".join(closing)
        self.wfile.write((_chunk(tail) if tail else b"") + b"0\r\n\r\n")

    def _answer_anthropic(self, script: Script, body: dict[str, Any], request_id: str) -> None:
        fake = self.server.fake
        model = str(body.get("model", "claude-fake"))
        usage = _usage_for(script, body)
        msg_id = fake._next_id("msg_fake")
        headers = self._id_headers("anthropic", request_id)
        full_usage = {
            "input_tokens": usage.input,
            "cache_creation_input_tokens": usage.cache_write,
            "cache_read_input_tokens": usage.cache_read,
            "output_tokens": usage.output,
        }
        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": script.text}]
            stop = "end_turn"
            if script.tool_input is not None:
                tool = (body.get("tools") or [{}])[0].get("name", "tool")
                content = [{"type": "tool_use", "id": fake._next_id("toolu_fake"), "name": tool,
                            "input": script.tool_input}]  # fmt: skip
                stop = "tool_use"
            message = {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": script.stop_reason or stop,
                "stop_sequence": None,
                "usage": full_usage,
            }
            self._send_body_or_break(script, message, headers)
            return
        start = {
            "type": "message_start",
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {**full_usage, "output_tokens": 1},
            },
        }
        opening = [
            _sse("message_start", start),
            _sse(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            ),
            _sse("ping", {"type": "ping"}),
        ]
        deltas = [
            _sse(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
            for piece in split_text(script.text, script.chunks)
        ]
        closing = [
            _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
            _sse(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": full_usage,
                },
            ),
            _sse("message_stop", {"type": "message_stop"}),
        ]
        if script.kind == "no_final":
            deltas.append(closing.pop(0))
        self._stream(script, headers, opening, deltas, closing)

    def _answer_openai(self, script: Script, body: dict[str, Any], request_id: str) -> None:
        fake = self.server.fake
        model = str(body.get("model", "gpt-fake"))
        usage = _usage_for(script, body)
        completion_id = fake._next_id("chatcmpl-fake")
        created = int(time.time())
        headers = self._id_headers("openai", request_id)
        prompt_tokens = usage.input + usage.cache_read + usage.cache_write
        usage_payload = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": usage.output,
            "total_tokens": prompt_tokens + usage.output,
            "prompt_tokens_details": {"cached_tokens": usage.cache_read, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        common = {"id": completion_id, "created": created, "model": model, "system_fingerprint": "fp_fake"}
        if not body.get("stream"):
            completion = {
                **common,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": script.text,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage_payload,
                "service_tier": "default",
            }
            self._send_body_or_break(script, completion, headers)
            return
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
            payload: dict[str, Any] = {
                **common,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                payload["usage"] = None
            return _sse(None, payload)

        opening = [chunk({"role": "assistant", "content": "", "refusal": None}, None)]
        deltas = [chunk({"content": piece}, None) for piece in split_text(script.text, script.chunks)]
        closing = [chunk({}, "stop")]
        if include_usage:
            closing.append(
                _sse(None, {**common, "object": "chat.completion.chunk", "choices": [], "usage": usage_payload})
            )
        closing.append(_sse(None, "[DONE]"))
        self._stream(script, headers, opening, deltas, closing)


class FakeLLMServer:
    """A threaded local server faking both providers; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Script]] = {p: deque() for p in PROVIDERS}
        self._defaults: dict[str, Script] = {p: Script() for p in PROVIDERS}
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self.host: str = str(bound_host)
        self.port: int = int(bound_port)
        self.base_url: str = f"http://{self.host}:{self.port}"
        self.anthropic_base_url: str = self.base_url
        self.openai_base_url: str = self.base_url + "/v1"

    def start(self) -> FakeLLMServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-llm-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held requests and close every connection."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.close_connections()
        self._server.server_close()

    def enqueue(self, provider: str, *scripts: Script) -> None:
        """Queue scripts for the next requests of ``provider``, first in first out."""
        self._check(provider)
        with self._lock:
            self._queues[provider].extend(scripts)

    def set_default(self, provider: str, script: Script) -> None:
        """Set the script used when ``provider``'s queue is empty."""
        self._check(provider)
        with self._lock:
            self._defaults[provider] = script

    def pending(self, provider: str) -> int:
        """Number of scripts still queued for ``provider``."""
        self._check(provider)
        with self._lock:
            return len(self._queues[provider])

    def requests_for(self, provider: str) -> list[RecordedRequest]:
        """The recorded requests of one provider, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.provider == provider]

    def reset(self) -> None:
        """Clear queues and recorded requests; defaults back to ``Script()``."""
        with self._lock:
            for provider in PROVIDERS:
                self._queues[provider].clear()
                self._defaults[provider] = Script()
            self.requests.clear()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @staticmethod
    def _check(provider: str) -> None:
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_script(self, provider: str) -> Script:
        with self._lock:
            queue = self._queues[provider]
            return queue.popleft() if queue else self._defaults[provider]

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):012d}"
