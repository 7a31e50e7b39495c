"""Photos, files and signatures through the API: what is kept, and clear 4xx for what is not."""

from __future__ import annotations

import hashlib

import httpx
import psycopg
import pytest

from service_core.fieldwork.rules import MAX_ATTACHMENT_BYTES
from tests.service_core.fieldwork_builders import JPEG, a_fleet, an_order, png


@pytest.mark.asyncio
async def test_files_are_kept_with_their_type_and_hash(client: httpx.AsyncClient) -> None:
    await a_fleet(client)
    order = await an_order(client)
    url = f"/work-orders/{order['id']}/attachments"
    pdf = b"%PDF-1.7\n% a service manual page\n"
    sent = await client.post(
        url, files={"file": ("manual.pdf", pdf, "application/octet-stream")}, data={"kind": "file", "actor": "eva"}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json() | {"id": 0, "uploaded_at": ""} == {
        "id": 0, "work_order_id": order["id"], "kind": "file", "filename": "manual.pdf",
        "content_type": "application/pdf", "size_bytes": len(pdf), "sha256": hashlib.sha256(pdf).hexdigest(),
        "uploaded_by": "eva", "uploaded_at": "",
    }  # fmt: skip
    photo = await client.post(url, files={"file": ("p.jpg", JPEG, "image/jpeg")}, data={"actor": "eva"})
    assert photo.json()["kind"] == "photo"  # the default kind
    listed = (await client.get(url)).json()
    assert [(a["filename"], a["content_type"]) for a in listed] == [
        ("manual.pdf", "application/pdf"), ("p.jpg", "image/jpeg")
    ]  # fmt: skip
    got = await client.get(f"/attachments/{sent.json()['id']}")
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"
    assert got.headers["etag"] == f'"{hashlib.sha256(pdf).hexdigest()}"'
    events = (await client.get(f"/work-orders/{order['id']}")).json()["events"]
    assert [e["details"]["filename"] for e in events if e["kind"] == "attachment_added"] == ["manual.pdf", "p.jpg"]


@pytest.mark.asyncio
async def test_bad_uploads_get_a_clear_4xx_and_nothing_is_kept(
    client: httpx.AsyncClient, conn: psycopg.Connection
) -> None:
    await a_fleet(client)
    order = await an_order(client)
    url = f"/work-orders/{order['id']}/attachments"

    too_big = png() + bytes(MAX_ATTACHMENT_BYTES)
    big = await client.post(url, files={"file": ("big.png", too_big, "image/png")}, data={"actor": "eva"})
    assert big.status_code == 413
    assert big.json()["detail"] == "'big.png' is larger than the limit of 10 MiB for an attachment"

    exe = await client.post(url, files={"file": ("cat.png", b"MZ\x90\x00binary", "image/png")}, data={"actor": "e"})
    assert exe.status_code == 415
    assert exe.json()["detail"] == "'cat.png' claims to be image/png but its bytes are not a format we know"
    html = await client.post(
        url, files={"file": ("x.html", b"<script>", "text/html")}, data={"kind": "file", "actor": "e"}
    )
    assert html.status_code == 415 and "a file must be one of application/pdf" in html.json()["detail"]
    zipped = await client.post(
        url, files={"file": ("a.zip", b"PK\x03\x04", "application/zip")}, data={"kind": "photo", "actor": "e"}
    )
    assert zipped.status_code == 415 and "is application/zip" in zipped.json()["detail"]

    assert (await client.post(url, files={"file": ("p.png", png(), "image/png")})).status_code == 422  # no actor
    assert (await client.post(url, data={"actor": "eva"})).status_code == 422  # no file
    sneaky = await client.post(
        url, files={"file": ("s.png", png(), "image/png")}, data={"kind": "signature", "actor": "eva"}
    )
    assert sneaky.status_code == 422  # signatures go through /signature, with the signer's name
    empty = await client.post(url, files={"file": ("e.png", b"", "image/png")}, data={"actor": "eva"})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    blank = await client.post(url, files={"file": ("p.png", png(), "image/png")}, data={"actor": "  "})
    assert blank.status_code == 422
    assert (await client.post("/work-orders/999/attachments", files={"file": ("p.png", png(), "image/png")},
                              data={"actor": "eva"})).status_code == 404  # fmt: skip
    assert (await client.get("/attachments/999")).status_code == 404
    (count,) = conn.execute("select count(*) from service.attachments").fetchone()
    assert count == 0


@pytest.mark.asyncio
async def test_a_signature_is_an_image_with_a_name_or_the_reason_there_is_none(client: httpx.AsyncClient) -> None:
    await a_fleet(client)
    order = await an_order(client)
    url = f"/work-orders/{order['id']}/signature"
    pdf = await client.post(
        url, files={"file": ("s.pdf", b"%PDF-1.4", "application/pdf")}, data={"signer_name": "J", "actor": "eva"}
    )
    assert pdf.status_code == 415 and "a signature must be one of image/jpeg, image/png" in pdf.json()["detail"]
    nameless = await client.post(url, files={"file": ("s.png", png(), "image/png")}, data={"actor": "eva"})
    assert nameless.status_code == 422 and "signer_name" in nameless.json()["detail"]
    nothing = await client.post(url, data={"actor": "eva"})
    assert nothing.status_code == 422 and "no_signature_reason" in nothing.json()["detail"]
    both = await client.post(
        url,
        files={"file": ("s.png", png(), "image/png")},
        data={"signer_name": "J", "no_signature_reason": "gone", "actor": "eva"},
    )
    assert both.status_code == 422 and "not both" in both.json()["detail"]

    waived = await client.post(url, data={"no_signature_reason": "site unmanned at night", "actor": "eva"})
    assert waived.status_code == 201, waived.text
    assert (waived.json()["attachment_id"], waived.json()["no_signature_reason"]) == (None, "site unmanned at night")
    signed = await client.post(
        url, files={"file": ("s.jpg", JPEG, "image/jpeg")}, data={"signer_name": " Ana Silva ", "actor": "eva"}
    )
    assert signed.status_code == 201 and signed.json()["signer_name"] == "Ana Silva"
    image = await client.get(f"/attachments/{signed.json()['attachment_id']}")
    assert image.content == JPEG and image.headers["content-type"] == "image/jpeg"
    kinds = [e["kind"] for e in (await client.get(f"/work-orders/{order['id']}")).json()["events"]]
    assert kinds[-2:] == ["signature_not_taken", "signed"]
