"""What a channel hands to intake, and the pure rules every channel shares."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

# A report on an asset whose earlier request was triaged into a still-open order this recently is the
# same trouble reported again: it is linked to that order instead of opening another one.
DUPLICATE_WINDOW = timedelta(hours=24)

CHANNELS = ("api", "qr", "email", "device", "detector")
PRIORITIES = ("low", "normal", "high", "urgent")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
_TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread on the phone
_CONTENT_TYPE = re.compile(r"^[a-z0-9.+-]+/[a-zA-Z0-9.+-]+$")
_FAULT_CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,32}$")


@dataclass(frozen=True, slots=True)
class Upload:
    """A photo or file that came with a report."""

    filename: str
    content_type: str
    content: bytes

    def __post_init__(self) -> None:
        if len(self.content) > MAX_ATTACHMENT_BYTES:
            raise ValueError(f"{self.filename!r} is {len(self.content)} bytes; at most {MAX_ATTACHMENT_BYTES}")

    @property
    def kind(self) -> str:
        return "photo" if self.content_type.startswith("image/") else "file"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True, slots=True)
class Report:
    """One report of trouble with an asset, from any channel, before it is stored."""

    channel: str
    asset_id: str
    subject: str
    actor: str
    original: bytes
    original_type: str
    description: str | None = None
    reporter_name: str | None = None
    reporter_email: str | None = None
    reporter_phone: str | None = None
    fault_code: str | None = None
    priority: str = "normal"
    external_id: str | None = None
    attachments: tuple[Upload, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")
        if self.priority not in PRIORITIES:
            raise ValueError(f"unknown priority {self.priority!r}")
        if self.fault_code is not None and not _FAULT_CODE.match(self.fault_code):
            raise ValueError(f"fault code {self.fault_code!r} is not 1-32 letters, digits or _ . : -")


def new_tracking_code() -> str:
    """``SR-`` and eight random characters a customer can read out on the phone (40 bits)."""
    return "SR-" + "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(8))


def content_type_of(value: str | None) -> str:
    """A MIME type the attachments table accepts: parameters dropped, lower case, else octet-stream."""
    main = (value or "").split(";", 1)[0].strip().lower()
    return main if _CONTENT_TYPE.match(main) else "application/octet-stream"


def subject_of(text: str, *, fallback: str) -> str:
    """A one-line subject of at most 200 characters: the first non-empty line of ``text``."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= 200 else line[:197] + "..."
    return fallback


def priority_for_severity(severity: str) -> str:
    """The priority a device fault suggests: a critical one is urgent, a warning high."""
    return {"critical": "urgent", "warning": "high"}.get(severity, "normal")
