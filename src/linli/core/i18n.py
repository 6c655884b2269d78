"""Translations (Babel catalogs read from .po files) and the locale of the current request."""

from __future__ import annotations

import io
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_Hans_CN", "en")
DEFAULT_LOCALE = "zh_Hans_CN"
HTML_LANG = {"zh_Hans_CN": "zh-Hans", "en": "en"}
LOCALE_NAMES = {"zh_Hans_CN": "简体中文", "en": "English"}

_current: ContextVar[str] = ContextVar("linli_locale", default=DEFAULT_LOCALE)
_catalogs: dict[str, NullTranslations] = {}
_loaded: dict[str, tuple[str, int]] = {}


def load_catalogs(directory: Path) -> None:
    """Read ``<dir>/<locale>/LC_MESSAGES/messages.po`` for every locale (compiled in memory).

    A catalog whose file has not changed since it was last read is kept as it is.
    """
    for locale in LOCALES:
        po_path = directory / locale / "LC_MESSAGES" / "messages.po"
        if not po_path.exists():
            _catalogs[locale] = NullTranslations()
            _loaded.pop(locale, None)
            continue
        stamp = (str(po_path), po_path.stat().st_mtime_ns)
        if _loaded.get(locale) == stamp:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        _catalogs[locale] = Translations(buf)
        _loaded[locale] = stamp


def translations(locale: str | None = None) -> NullTranslations:
    """Catalog for ``locale`` (default: the current one)."""
    return _catalogs.get(locale or _current.get(), NullTranslations())


def set_locale(locale: str) -> None:
    """Make ``locale`` current for this request or task."""
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


def get_locale() -> str:
    """The current locale."""
    return _current.get()


def gettext(message: str, **params: object) -> str:
    """Translate ``message`` into the current locale and fill ``%(name)s`` placeholders."""
    text = translations().gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: object) -> str:
    """Plural-aware translation; ``n`` is available as ``%(num)d``."""
    text = translations().ngettext(singular, plural, n)
    return text % {"num": n, **params}


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Mark ``message`` for translation where it is defined; translate it where it is shown."""
    return message


def negotiate(accept_language: str | None) -> str:
    """Pick a supported locale from an ``Accept-Language`` header."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _sep, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranked.append((-quality, index, tag))
    for neg_q, _index, tag in sorted(ranked):
        if neg_q >= 0:
            continue
        if tag.startswith("zh"):
            return "zh_Hans_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE
