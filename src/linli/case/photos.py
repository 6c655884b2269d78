"""Photos of cases: the type is read from the bytes, the size is capped, and the image is
re-encoded so that no metadata (EXIF, GPS location, camera serial) survives."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from linli.core.errors import ValidationFailed
from linli.core.i18n import gettext as _

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
# What the bytes begin with, for each type accepted.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are (JPEG or PNG), whatever the upload claimed."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def clean(data: bytes) -> tuple[bytes, str]:
    """(re-encoded bytes without metadata, content type); ValidationFailed for anything else."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("A photo may be at most 5 MB."))
    content_type = sniff(data)
    if content_type is None:
        raise ValidationFailed(_("Only JPEG and PNG photos can be added."))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ValidationFailed(_("This photo is too large."))
            # Turned as the camera meant, then copied pixel by pixel: nothing else is kept.
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            if content_type == "image/jpeg":
                pixels = upright.convert("RGB")
            elif upright.mode in ("RGB", "RGBA", "L"):
                pixels = upright
            else:
                pixels = upright.convert("RGBA")
            bare = Image.new(pixels.mode, pixels.size)
            bare.paste(pixels)
            out = io.BytesIO()
            if content_type == "image/jpeg":
                bare.save(out, format="JPEG", quality=85)
            else:
                bare.save(out, format="PNG")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ValidationFailed(_("This file is not a photo that can be read.")) from exc
    return out.getvalue(), content_type
