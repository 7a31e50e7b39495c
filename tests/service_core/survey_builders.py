"""What the survey tests share: completed orders, a real SMTP server and a real webhook receiver."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from psycopg import AsyncConnection

from service_core.customers import service as customers
from service_core.customers.schemas import AssetCreate, CustomerCreate, SiteCreate
from service_core.runtime.ports import free_port
from service_core.workorders import service as workorders
from service_core.workorders.schemas import WorkOrderCreate
from tests.service_core.builders import SITE, an_engineer

PUBLIC_URL = "http://fleetcare.test"


async def a_completed_order(
    conn: AsyncConnection,
    *,
    code: str = "rtm-01",
    region: str = "NL-ZH",
    customer_email: str | None = None,
    reporter_email: str | None = None,
    engineer_name: str = "Ana Keller",
    complete: bool = True,
) -> int:
    """An order on a new customer's pump, done by ``engineer_name``, reported by ``reporter_email`` if given."""
    customer = await customers.create(
        conn, customer_in=CustomerCreate(name=f"Harbour Water {code}", email=customer_email)
    )
    site = await customers.create_site(
        conn, site_in=SiteCreate(customer_id=customer.id, code=code, name=f"Pier {code}", region=region,
                                 lat=SITE[0], lon=SITE[1]),
    )
    asset = await customers.create_asset(
        conn, asset_in=AssetCreate(id=f"pump-{code}", site_id=site.id, model="CP-200", serial=f"SN-{code}")
    )
    engineer = await an_engineer(conn, name=engineer_name)
    order = await workorders.create(
        conn, work_order_in=WorkOrderCreate(asset_id=asset.id, type="repair", title="Leaking flange", actor="desk")
    )
    if reporter_email is not None:
        await conn.execute(
            """
            insert into service.service_requests (tracking_code, channel, status, customer_id, site_id, asset_id,
                                                  reporter_email, subject, actor, work_order_id, triaged_at,
                                                  triaged_by)
            values ('SR-' || upper(substr(md5(%(code)s), 1, 8)), 'api', 'triaged', %(customer)s, %(site)s,
                    %(asset)s, %(email)s, 'Leaking flange', 'desk', %(order)s, now(), 'desk')
            """,
            {"code": code, "customer": customer.id, "site": site.id, "asset": asset.id, "email": reporter_email,
             "order": order.id},
        )
    await workorders.assign(conn, work_order_id=order.id, engineer_id=engineer.id, actor="desk")
    if complete:
        for target in ("accepted", "en_route", "on_site", "in_progress", "completed"):
            await workorders.transition(conn, work_order_id=order.id, target=target, actor="ana")
    return order.id


async def rows(pool, sql: str, params: dict | None = None) -> list[tuple]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params or {})
        return await cur.fetchall()


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.delay_s = 0.0  # a slow server keeps senders busy while other jobs run

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.sleep(self.delay_s)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@asynccontextmanager
async def smtp_server() -> AsyncIterator[tuple[Inbox, int]]:
    """A real SMTP server on a free port, and what it received."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    await asyncio.to_thread(controller.start)
    try:
        yield inbox, controller.port
    finally:
        await asyncio.to_thread(controller.stop)


class Receiver(ThreadingHTTPServer):
    """A local HTTP server keeping each JSON body POSTed to it; ``statuses`` are the replies to give, then 204."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/surveys"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = self.server.statuses.pop(0) if self.server.statuses else 204
        if status < 300:
            self.server.bodies.append(body)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args) -> None:  # keep the test output clean
        pass


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A real webhook receiver on a free port, serving in a thread."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
