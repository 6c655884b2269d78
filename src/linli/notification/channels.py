"""Senders of the outbox's channels: e-mail (SMTP), signed webhook, SMS gateway, WeCom and
DingTalk group robots. Each ``send_*`` returns when the receiver has accepted the message and
raises :class:`DeliveryError` otherwise, saying whether a retry can help.

HTTP goes through one shared ``httpx.AsyncClient`` (async, connection pooling, timeouts per
phase); mail through the standard library's ``smtplib`` in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote_plus, unquote, urlsplit

import httpx
import orjson

from linli.config import Settings
from linli.core import i18n

CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
# WeCom robots take at most 2048 bytes of text; DingTalk a good deal more.
WECOM_MAX_BYTES = 2048
DINGTALK_MAX_CHARS = 4000
# Robot error codes that mean "too many messages, later": worth a retry.
ROBOT_RETRY_CODES = frozenset({-1, 45009, 45033, 130101, 660026})
USER_AGENT = "Linli-Notifier/1"

SEVERITY_NAMES = {
    "critical": "Critical",
    "major": "Major",
    "minor": "Minor",
    "warning": "Warning",
}


# What each part of a channel's payload is, in the recipient registry's field names: the
# processor of a channel must allow every one of them (tests hold each adapter to this).
PAYLOAD_FIELDS: dict[str, dict[str, str]] = {
    "email": {
        "To": "email_address",
        "From": "",
        "Subject": "message_text",
        "Date": "",
        "Message-ID": "",
        "X-Linli-Idempotency-Key": "",
        "Auto-Submitted": "",
        "body": "message_text",
    },
    "sms": {"to": "phone_number", "text": "message_text"},
    "webhook": {
        "id": "",
        "event": "message_data",
        "category": "message_data",
        "severity": "message_data",
        "subject": "message_text",
        "body": "message_text",
        "link": "message_text",
        "created_at": "",
        "data": "message_data",
    },
    "wecom": {"msgtype": "", "text": "message_text"},
    "dingtalk": {"msgtype": "", "text": "message_text"},
}


class DeliveryError(Exception):
    """A message was not delivered; ``permanent`` when sending it again cannot help."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Message:
    """What every channel sends: one message with its idempotency key."""

    key: str
    event: str
    category: str
    severity: str
    subject: str
    body: str
    link: str
    created_at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON document a webhook receives."""
        return {
            "id": self.key,
            "event": self.event,
            "category": self.category,
            "severity": self.severity,
            "subject": self.subject,
            "body": self.body,
            "link": self.link,
            "created_at": self.created_at.isoformat(),
            "data": self.data,
        }


def timeouts() -> httpx.Timeout:
    """Connect within 3 s, finish within 10 s."""
    return httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)


def new_client() -> httpx.AsyncClient:
    """The HTTP client the webhook, SMS and robot senders share."""
    return httpx.AsyncClient(
        timeout=timeouts(),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def text_of(message: Message, locale: str) -> str:
    """The plain text of a message for SMS and chat robots: severity, subject, body, link."""
    severity = i18n.translations(locale).gettext(SEVERITY_NAMES.get(message.severity, "Notice"))
    lines = [f"[{severity}] {message.subject}"]
    if message.body:
        lines.append(message.body)
    if message.link:
        lines.append(message.link)
    return "\n".join(lines)


def _cut_bytes(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "…"


# --- e-mail ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """An SMTP server from ``smtp://[user:pass@]host:port`` or ``smtp+starttls://...``."""

    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls") or not parts.hostname:
            raise DeliveryError("LINLI_SMTP_URL must be smtp://host:port or smtp+starttls://...")
        starttls = parts.scheme == "smtp+starttls"
        return cls(
            host=parts.hostname,
            port=parts.port or (587 if starttls else 25),
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def sender_address(settings: Settings) -> str:
    """The From address: the configured one, or linli@<host of the base URL>."""
    if settings.smtp_from:
        return settings.smtp_from
    return f"linli@{urlsplit(settings.base_url).hostname or 'localhost'}"


def message_id(key: str, settings: Settings) -> str:
    """A Message-ID that is the same for every attempt of one message (receivers dedupe)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    domain = sender_address(settings).rsplit("@", 1)[-1]
    return f"<{digest}@{domain}>"


def build_email(message: Message, to: str, settings: Settings) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender_address(settings)
    mail["To"] = to
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id(message.key, settings)
    mail["X-Linli-Idempotency-Key"] = message.key
    mail["Auto-Submitted"] = "auto-generated"
    lines = [message.body] if message.body else []
    if message.link:
        lines.append(message.link)
    mail.set_content("\n\n".join(lines) or message.subject)
    return mail


def _smtp_send(config: SmtpConfig, mail: EmailMessage) -> None:
    try:
        with smtplib.SMTP(config.host, config.port, timeout=TOTAL_TIMEOUT) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        permanent = all(500 <= code < 600 for code in codes)
        raise DeliveryError(f"recipient refused: {codes}", permanent=permanent) from exc
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 535)
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise DeliveryError(f"SMTP {exc.smtp_code} {text}"[:300], permanent=permanent) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP server unreachable: {exc.__class__.__name__}") from exc


async def send_email(settings: Settings, to: str, message: Message) -> None:
    """Send one e-mail through the configured SMTP server (in a worker thread)."""
    if not settings.smtp_url:
        raise DeliveryError("no SMTP server is configured (LINLI_SMTP_URL)")
    config = SmtpConfig.from_url(settings.smtp_url)
    await asyncio.to_thread(_smtp_send, config, build_email(message, to, settings))


# --- HTTP channels --------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _status_error(response: httpx.Response) -> DeliveryError:
    code = response.status_code
    permanent = 400 <= code < 500 and code not in (408, 425, 429)
    return DeliveryError(f"HTTP {code} from the receiver", permanent=permanent)


async def _post(
    client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    try:
        response = await client.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"timed out: {exc.__class__.__name__}") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"cannot reach the receiver: {exc.__class__.__name__}") from exc
    if not 200 <= response.status_code < 300:
        raise _status_error(response)
    return response


async def send_webhook(
    client: httpx.AsyncClient, url: str, secret: str | None, message: Message
) -> None:
    """POST the message as JSON, signed with the endpoint's secret."""
    body = orjson.dumps(message.payload())
    timestamp = str(int(time.time()))
    headers = {"Idempotency-Key": message.key, "X-Linli-Timestamp": timestamp}
    if secret:
        headers["X-Linli-Signature"] = sign(secret, timestamp, body)
    await _post(client, url, body, headers)


async def send_sms(
    client: httpx.AsyncClient,
    url: str,
    secret: str | None,
    recipients: tuple[str, ...],
    message: Message,
    locale: str,
) -> None:
    """POST ``{"to": [numbers], "text": ...}`` to a generic SMS gateway with a bearer token."""
    if not recipients:
        raise DeliveryError("the SMS endpoint has no phone numbers", permanent=True)
    body = orjson.dumps({"to": list(recipients), "text": text_of(message, locale)})
    headers = {"Idempotency-Key": message.key}
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    await _post(client, url, body, headers)


def _robot_reply(response: httpx.Response) -> None:
    try:
        reply = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise DeliveryError("the robot answered something that is not JSON") from exc
    code = reply.get("errcode") if isinstance(reply, dict) else None
    if code == 0:
        return
    text = str(reply.get("errmsg", "")) if isinstance(reply, dict) else ""
    permanent = isinstance(code, int) and code not in ROBOT_RETRY_CODES
    raise DeliveryError(f"robot error {code}: {text}"[:300], permanent=permanent)


async def send_wecom(client: httpx.AsyncClient, url: str, message: Message, locale: str) -> None:
    """A text message to a WeCom (企业微信) group robot."""
    content = _cut_bytes(text_of(message, locale), WECOM_MAX_BYTES)
    body = orjson.dumps({"msgtype": "text", "text": {"content": content}})
    _robot_reply(await _post(client, url, body, {}))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    """The robot URL with DingTalk's ``timestamp`` and ``sign`` when a signing secret is set."""
    if not secret:
        return url
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    signature = quote_plus(base64.b64encode(mac).decode())
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp}&sign={signature}"


async def send_dingtalk(
    client: httpx.AsyncClient, url: str, secret: str | None, message: Message, locale: str
) -> None:
    """A text message to a DingTalk (钉钉) group robot, signed when it has a secret."""
    content = text_of(message, locale)[:DINGTALK_MAX_CHARS]
    body = orjson.dumps({"msgtype": "text", "text": {"content": content}})
    _robot_reply(await _post(client, dingtalk_url(url, secret), body, {}))
