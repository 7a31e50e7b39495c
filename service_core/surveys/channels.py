"""How a survey reaches the customer: the letter, and the channels that carry it (e-mail, webhook).

A channel is anything with a ``name`` and an async ``send(letter)`` that raises SendFailed when the message
was not accepted; the job retries it later.
"""

from __future__ import annotations

import asyncio
import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

import httpx

from service_core.surveys.models import OutgoingMessage
from service_core.surveys.rules import first_name


class SendFailed(Exception):
    """The channel did not take the message; ``detail`` says why (kept on the message, retried later)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Letter:
    """One invitation or reminder, ready for any channel."""

    kind: str  # invitation | reminder
    recipient: str | None
    subject: str
    text: str
    link: str
    facts: dict = field(default_factory=dict)  # what a webhook receiver needs to word its own message


def survey_link(public_url: str, token: str) -> str:
    """The public page of the survey.

    >>> survey_link("https://service.example/", "ab12")
    'https://service.example/s/ab12'
    """
    return f"{public_url.rstrip('/')}/s/{token}"


def compose(message: OutgoingMessage, *, public_url: str) -> Letter:
    """The letter for a claimed message: what was done, by whom, and the link."""
    link = survey_link(public_url, message.token)
    engineer = first_name(message.engineer_name)
    day = f" on {message.completed_at:%d %B %Y}" if message.completed_at else ""
    equipment = f"{message.asset_model} ({message.asset_id})"
    if message.kind == "reminder":
        subject = f"Reminder: how did we do on your {equipment}?"
        opening = "A few days ago we asked how our service went; we would still like to hear from you."
    else:
        subject = f"How did we do? Your service job on {equipment}"
        opening = "Thank you for letting us look after your equipment."
    text = (
        f"Hello,\n\n{opening}\n\n"
        f"{engineer or 'Our engineer'} completed \"{message.title}\" on your {equipment}"
        f" at {message.site_name}{day}.\n\n"
        f"How satisfied are you, and would you recommend us? Two questions, one minute:\n\n{link}\n\n"
        "Thank you,\nThe service team\n"
    )
    facts = {
        "survey_id": message.survey_id,
        "work_order_id": message.work_order_id,
        "customer": {"id": message.customer_id, "name": message.customer_name},
        "asset": {"id": message.asset_id, "model": message.asset_model, "site": message.site_name},
        "engineer_first_name": engineer,
        "completed_at": message.completed_at.isoformat() if message.completed_at else None,
    }
    return Letter(kind=message.kind, recipient=message.recipient, subject=subject, text=text, link=link, facts=facts)


class Channel(Protocol):
    name: str

    async def send(self, letter: Letter) -> None: ...


class EmailChannel:
    """Plain-text e-mail through an SMTP server (stdlib smtplib, in a worker thread)."""

    name = "email"

    def __init__(self, *, host: str, port: int, sender: str, timeout_s: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.timeout_s = timeout_s

    async def send(self, letter: Letter) -> None:
        if not letter.recipient:
            raise SendFailed("an e-mail needs a recipient")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = letter.recipient
        message["Subject"] = letter.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(letter.text)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                refused = smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:  # SMTPException covers refusals; OSError no server
            raise SendFailed(f"smtp://{self.host}:{self.port}: {exc}") from exc
        if refused:
            raise SendFailed(f"smtp://{self.host}:{self.port} refused {', '.join(refused)}")

    def __repr__(self) -> str:
        return f"EmailChannel(smtp://{self.host}:{self.port} from {self.sender})"


class WebhookChannel:
    """A JSON POST to a configured URL (a CRM, an SMS gateway…); any 2xx is accepted."""

    name = "webhook"

    def __init__(self, *, url: str, timeout_s: float = 10.0) -> None:
        self.url = url
        self.timeout_s = timeout_s

    async def send(self, letter: Letter) -> None:
        body = {
            "event": f"survey.{letter.kind}",
            "recipient": letter.recipient,
            "subject": letter.subject,
            "text": letter.text,
            "link": letter.link,
            **letter.facts,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                response = await client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SendFailed(f"POST {self.url}: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise SendFailed(f"POST {self.url}: HTTP {response.status_code} {response.text[:200]}")

    def __repr__(self) -> str:
        return f"WebhookChannel({self.url})"


def configured_channels(
    *, smtp_host: str | None, smtp_port: int, sender: str, webhook_url: str | None
) -> dict[str, Channel]:
    """The channels the settings name (FLEETCARE_SURVEY_SMTP_HOST…, FLEETCARE_SURVEY_WEBHOOK_URL)."""
    channels: dict[str, Channel] = {}
    if smtp_host:
        channels["email"] = EmailChannel(host=smtp_host, port=smtp_port, sender=sender)
    if webhook_url:
        channels["webhook"] = WebhookChannel(url=webhook_url)
    return channels
