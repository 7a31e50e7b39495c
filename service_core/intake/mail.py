"""Inbound e-mail: an SMTP server (aiosmtpd) that turns each message into a service request.

The asset is found by its id in the subject (``[pump-003]``), an ``Asset: pump-003`` line in the body, or its
serial number anywhere in the text. The text part becomes the description and attached files attachments;
the raw message is kept whole. A message that cannot become a request is kept in ``service.rejected_mail``
with its reason and refused with a 550 that says why, so the sender knows and nothing is lost. A message
delivered twice (same Message-ID) is accepted and opens nothing new.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses

import psycopg
from aiosmtpd.controller import Controller
from psycopg import AsyncConnection

from service_core.errors import NotFound
from service_core.intake import service
from service_core.intake.reports import Report, Upload, content_type_of, subject_of

log = logging.getLogger(__name__)

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

_ID = r"[A-Za-z0-9_.\-]{1,64}"
_SUBJECT_TAG = re.compile(rf"\[({_ID})\]")
_ASSET_LINE = re.compile(rf"^[ \t>]*asset[ \t]*(?:id)?[ \t]*:[ \t]*({_ID})[ \t]*$", re.IGNORECASE | re.MULTILINE)
_FAULT_LINE = re.compile(
    r"^[ \t>]*(?:fault|error)[ \t]*(?:code)?[ \t]*:[ \t]*([A-Za-z0-9_.:\-]{1,32})[ \t]*$", re.IGNORECASE | re.MULTILINE
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{2,63}")
_TAG = re.compile(r"<[^>]+>")
MAX_DESCRIPTION = 20000


class MailRejected(Exception):
    """A message that cannot become a service request; ``reason`` goes to the sender and the table."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedMail:
    """What intake needs of a message, read from it without touching the database."""

    message_id: str | None
    sender_name: str | None
    sender_email: str
    subject: str
    text: str
    asset_refs: tuple[str, ...]  # ids the sender named, subject tags first
    words: tuple[str, ...]  # every word that could be a serial number
    fault_code: str | None
    attachments: tuple[Upload, ...]


def parse(raw: bytes) -> ParsedMail:
    """Read a message (RFC 5322 bytes), or raise MailRejected saying why it cannot be read."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    sender = _sender(message)
    if sender is None:
        raise MailRejected("unparseable message: no sender address in its From header")
    subject = " ".join(str(message.get("subject", "")).split())
    try:
        text = _text(message)
        attachments = tuple(_attachments(message))
    except (LookupError, UnicodeError, ValueError) as exc:
        raise MailRejected(f"unparseable message: {exc}") from None
    refs = _SUBJECT_TAG.findall(subject) + _ASSET_LINE.findall(text)
    fault = _FAULT_LINE.search(text)
    message_id = str(message.get("message-id", "")).strip().strip("<>").strip() or None
    return ParsedMail(
        message_id=message_id[:998] if message_id else None,
        sender_name=sender.display_name or None,
        sender_email=sender.addr_spec,
        subject=subject,
        text=text,
        asset_refs=tuple(dict.fromkeys(refs)),
        words=tuple(dict.fromkeys(_WORD.findall(subject + "\n" + text))),
        fault_code=fault.group(1) if fault else None,
        attachments=attachments,
    )


async def find_asset(conn: AsyncConnection, mail: ParsedMail) -> str:
    """The asset the message is about: one it names by id, else the one whose serial number it quotes."""
    if mail.asset_refs:
        cur = await conn.execute(
            "select id from service.assets where id = any(%(ids)s)", {"ids": list(mail.asset_refs)}
        )
        known = {row[0] for row in await cur.fetchall()}
        for ref in mail.asset_refs:
            if ref in known:
                return ref
    cur = await conn.execute(
        "select id from service.assets where serial = any(%(words)s) order by id limit 2", {"words": list(mail.words)}
    )
    by_serial = [row[0] for row in await cur.fetchall()]
    if len(by_serial) == 1:
        return by_serial[0]
    if len(by_serial) > 1:
        raise MailRejected(f"the message quotes the serial numbers of several assets ({', '.join(by_serial)}); "
                           "name one in the subject like [pump-003]")
    if mail.asset_refs:
        raise MailRejected(f"unknown asset {', '.join(repr(r) for r in mail.asset_refs)}: name a known asset "
                           "in the subject like [pump-003]")
    raise MailRejected("no asset found: name it in the subject like [pump-003], with a line 'Asset: pump-003' "
                       "in the text, or quote its serial number")


async def receive(conn: AsyncConnection, *, raw: bytes) -> service.Intake:
    """Turn a message into a request in the caller's transaction, or raise MailRejected."""
    mail = parse(raw)
    asset_id = await find_asset(conn, mail)
    subject = _SUBJECT_TAG.sub("", mail.subject).strip(" -:") or mail.subject
    description = mail.text.strip()
    try:
        return await service.create(
            conn,
            report=Report(
                channel="email",
                asset_id=asset_id,
                subject=subject_of(subject or description, fallback=f"E-mail from {mail.sender_email}"),
                description=description[:MAX_DESCRIPTION] or None,
                reporter_name=(mail.sender_name or "")[:200] or None,
                reporter_email=mail.sender_email[:320],
                fault_code=mail.fault_code,
                actor=f"mail:{mail.sender_email}"[:128],
                original=raw,
                original_type="message/rfc822",
                # without a Message-ID, the same bytes delivered again are the same message
                external_id=mail.message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
                attachments=mail.attachments,
            ),
        )
    except NotFound as exc:  # the asset went away between finding and storing
        raise MailRejected(exc.detail) from None


async def keep_rejected(
    conn: AsyncConnection, *, raw: bytes, reason: str, mail_from: str | None, rcpt_to: list[str]
) -> int:
    """Keep a refused message whole with its reason; returns its id."""
    message = message_from_bytes(raw, policy=policy.compat32)  # lenient: this must not fail
    cur = await conn.execute(
        """
        insert into service.rejected_mail (mail_from, rcpt_to, message_id, subject, reason, content)
        values (%(mail_from)s, %(rcpt_to)s, %(message_id)s, %(subject)s, %(reason)s, %(content)s)
        returning id
        """,
        {
            "mail_from": mail_from,
            "rcpt_to": rcpt_to,
            "message_id": _header(message, "message-id"),
            "subject": _header(message, "subject"),
            "reason": reason[:2000],
            "content": raw,
        },
    )
    (rejected_id,) = await cur.fetchone()
    return rejected_id


class MailHandler:
    """aiosmtpd handler: every message is a request, an already-known redelivery, or a kept 550."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        raw: bytes = envelope.original_content or envelope.content
        try:
            async with self._connect() as conn, conn.transaction():
                intake = await receive(conn, raw=raw)
        except MailRejected as exc:
            try:
                async with self._connect() as conn, conn.transaction():
                    await keep_rejected(conn, raw=raw, reason=exc.reason, mail_from=envelope.mail_from,
                                        rcpt_to=list(envelope.rcpt_tos))
            except Exception:
                log.exception("could not keep a refused message; asking the sender to retry")
                return "451 4.3.0 temporary failure, try again later"
            log.info("refused mail from %s: %s", envelope.mail_from, exc.reason)
            return f"550 5.6.0 {_one_line(exc.reason)}"
        except Exception:
            # nothing is stored: a temporary failure makes the sending server try again later
            log.exception("mail from %s could not be stored", envelope.mail_from)
            return "451 4.3.0 temporary failure, try again later"
        request = intake.request
        if not intake.created:
            return f"250 2.0.0 already received as service request {request.tracking_code}"
        return f"250 2.0.0 service request {request.tracking_code} ({request.status})"


def connect_to(database_url: str) -> Connect:
    """A connection per message, opened in the mail server's own event loop."""

    @asynccontextmanager
    async def connect():
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            yield conn

    return connect


def mail_server(database_url: str, *, host: str, port: int) -> Controller:
    """The SMTP server, not started: ``start()`` runs it in a thread of its own, ``stop()`` ends it."""
    return Controller(
        MailHandler(connect_to(database_url)), hostname=host, port=port, server_hostname="fleetcare",
        ident="fleetcare intake",
    )


def _sender(message: EmailMessage) -> Address | None:
    try:
        header = message["from"]
        addresses = list(header.addresses) if header is not None else []
    except (AttributeError, IndexError, ValueError):
        addresses = [Address(addr_spec=a) for _, a in getaddresses([str(message.get("from", ""))]) if "@" in a]
    for address in addresses:
        if address.addr_spec and "@" in address.addr_spec:
            return address
    return None


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if body.get_content_subtype() == "html":
        content = html.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>", "\n", content)))
    return content.replace("\r\n", "\n")


def _attachments(message: EmailMessage):
    for index, part in enumerate(message.iter_attachments(), start=1):
        if part.is_multipart():
            continue
        content = part.get_payload(decode=True) or b""
        filename = part.get_filename() or f"attachment-{index}"
        try:
            yield Upload(filename=filename, content_type=content_type_of(part.get_content_type()), content=content)
        except ValueError as exc:
            raise ValueError(f"attachment {exc}") from None


def _header(message, name: str) -> str | None:
    value = message.get(name)
    return " ".join(str(value).split())[:998] if value else None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400].encode("ascii", "replace").decode()
