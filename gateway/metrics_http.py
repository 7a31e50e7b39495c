"""GET /health and GET /metrics over HTTP for a process that has no web server of its own (the gateway).

Just enough HTTP/1.1 for a Prometheus scraper, a load balancer's health check and curl: one request per
connection, answered and closed. A web framework would be more code than the two answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager

from gateway.prometheus import CONTENT_TYPE

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, Mapping[str, str]]]

READ_TIMEOUT_S = 5.0  # a client that sends no complete request head by then is dropped
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
           503: "Service Unavailable"}


@asynccontextmanager
async def serve_metrics(
    host: str, port: int, *, metrics: Callable[[], str], health: HealthCheck
) -> AsyncIterator[tuple[str, int]]:
    """Serve ``metrics()`` (Prometheus text) at /metrics and ``health()`` (healthy?, report) at /health as JSON,
    200 when healthy and 503 when not; yields the address bound (port 0: any free port)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            writer.write(_respond(head, metrics=metrics, health=health))
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # the client went away or never finished asking
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(answer, host, port)
    try:
        bound = server.sockets[0].getsockname()
        yield bound[0], bound[1]
    finally:
        server.close()
        await server.wait_closed()


def _respond(head: bytes, *, metrics: Callable[[], str], health: HealthCheck) -> bytes:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return _response(400, "text/plain; charset=utf-8", b"bad request\n")
    method, path = parts[0], parts[1].split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        return _response(405, "text/plain; charset=utf-8", b"only GET and HEAD\n", allow="GET, HEAD")
    try:
        if path == "/metrics":
            status, content_type, body = 200, CONTENT_TYPE, metrics().encode()
        elif path == "/health":
            healthy, report = health()
            status, content_type, body = 200 if healthy else 503, "application/json", json.dumps(report).encode()
        else:
            status, content_type, body = 404, "text/plain; charset=utf-8", b"not found: try /health or /metrics\n"
    except Exception:
        log.exception("answering %s %s failed", method, path)
        status, content_type, body = 500, "text/plain; charset=utf-8", b"internal error\n"
    return _response(status, content_type, body, head_only=method == "HEAD")


def _response(status: int, content_type: str, body: bytes, *, head_only: bool = False, allow: str = "") -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS[status]}", f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
             "Connection: close", *([f"Allow: {allow}"] if allow else []), "", ""]
    return "\r\n".join(lines).encode("latin-1") + (b"" if head_only else body)
