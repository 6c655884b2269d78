"""Limits on case photos (A20): size, pixels, count and real type; a refusal keeps nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.case import photos, service
from linli.case.models import CasePhoto
from linli.core.errors import ValidationFailed
from tests.case.conftest import actor, file_case
from tests.conftest import World, bearer, csrf_of, login


def _stored(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(CasePhoto)) or 0)


def _png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "green").save(out, format="PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _declared_png(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` × ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x00" * 3 * 8)  # one short row: the rest is missing
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def _oversized_jpeg() -> bytes:
    """A real JPEG one byte over 5 MiB: padded after its end-of-image marker, as cameras do."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(out, format="JPEG")
    data = out.getvalue()
    data += b"\x00" * (photos.MAX_BYTES + 1 - len(data))
    assert photos.sniff(data) == "image/jpeg"
    return data


def test_photo_limits_are_the_documented_ones() -> None:
    assert photos.MAX_BYTES == 5 * 1024 * 1024
    assert photos.MAX_PIXELS == 40_000_000
    assert service.MAX_PHOTOS == 5


@pytest.mark.usefixtures("alice_consents_to_images")
def test_oversized_huge_and_extra_photos_are_refused_and_nothing_is_kept(
    client: TestClient, db: Session, world: World
) -> None:
    case = file_case(db, world)
    url = f"/api/v1/cases/{case.id}/photos"
    alice = bearer(world, "alice")

    def refused(data: bytes, status: int = 422) -> str:
        r = client.post(url, content=data, headers=alice)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert _stored(db) == 0
        return str(r.json()["detail"])

    # Over 5 MiB: refused over the API and by the service.
    big = _oversized_jpeg()
    assert "5 MB" in refused(big)
    with pytest.raises(ValidationFailed):
        service.add_photo(db, actor(db, world, "alice"), case.id, big)
    db.rollback()
    # Over 40 megapixels, though the file is tiny: the decompression-bomb guard.
    just_over = _declared_png(8000, 5001)
    assert len(just_over) < 200
    with Image.open(io.BytesIO(just_over)) as image:
        assert image.width * image.height > photos.MAX_PIXELS
    # Refused for its size, before any decoding (a truncated image just under is unreadable).
    assert refused(just_over) != refused(_declared_png(8000, 4999))
    # Far beyond what Pillow itself accepts: refused as well, never decoded.
    refused(_declared_png(50_000, 50_000))
    for data in (just_over, _declared_png(50_000, 50_000)):
        with pytest.raises(ValidationFailed):
            service.add_photo(db, actor(db, world, "alice"), case.id, data)
        db.rollback()
    # A GIF, a PDF and a script are not JPEG or PNG whatever they are called.
    gif = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(gif, format="GIF")
    for data in (gif.getvalue(), b"%PDF-1.4\n%%EOF\n", b"<svg onload=alert(1)>"):
        refused(data)
    assert _stored(db) == 0

    # Five photos are accepted; the sixth is refused and not kept.
    kept = []
    for _n in range(service.MAX_PHOTOS):
        r = client.post(url, content=_png(), headers=alice)
        assert r.status_code == 201, r.text
        kept.append(r.json())
    assert _stored(db) == service.MAX_PHOTOS
    r = client.post(url, content=_png(), headers=alice)
    assert r.status_code == 409
    assert "5" in r.json()["detail"]
    r = client.post(url, content=_png(), headers=bearer(world, "staff1"))
    assert r.status_code == 409  # the case's handler is held to it too
    assert _stored(db) == service.MAX_PHOTOS
    assert client.get(url, headers=alice).json() == kept


@pytest.mark.usefixtures("alice_consents_to_images")
def test_a_file_named_jpg_that_is_not_an_image_is_refused_from_the_page(
    client: TestClient, db: Session, world: World
) -> None:
    case = file_case(db, world)
    login(client, "alice")
    token = csrf_of(client.get(f"/cases/{case.id}").text)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(gif, format="GIF")
    for name, data in (
        ("photo.jpg", gif.getvalue()),
        ("photo.jpg", b"MZ\x90\x00 not a photo"),
        ("photo.png", b"<html><script>alert(1)</script></html>"),
        ("huge.png", _declared_png(8000, 5001)),
    ):
        r = client.post(
            f"/cases/{case.id}/photos",
            data={"csrf_token": token},
            files={"photo": (name, data, "image/jpeg")},
            follow_redirects=False,
        )
        assert r.status_code == 422, (name, r.text[:200])
        assert _stored(db) == 0
    # The same form takes a real photo.
    r = client.post(
        f"/cases/{case.id}/photos",
        data={"csrf_token": token},
        files={"photo": ("photo.jpg", _png(), "image/jpeg")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:200]
    db.expire_all()
    [photo] = db.scalars(select(CasePhoto).where(CasePhoto.case_id == case.id))
    assert photo.content_type == "image/png"  # read from the bytes, not from the name
