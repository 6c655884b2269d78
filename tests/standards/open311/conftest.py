"""Open311 tests: the app under a real uvicorn server, and JSON/XML comparison helpers."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
import xmltodict
from fastapi import FastAPI

from linli.standards.open311.render import ITEM_TAGS

TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
def server(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app under uvicorn in a thread, on a loopback port (listening before it starts)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="off", log_config=None
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz", timeout=TIMEOUT).status_code == 200
    yield base
    instance.should_exit = True
    thread.join(timeout=15)
    sock.close()


def plain(value: Any) -> Any:
    """JSON data as XML carries it: every scalar a string, empty values left out."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v not in (None, "", [])}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def from_xml(body: bytes) -> Any:
    """An Open311 XML document as JSON-shaped data (lists by their item element names)."""
    parsed = xmltodict.parse(body, force_list=tuple(ITEM_TAGS.values()))
    (root, content), *_ = parsed.items()

    def unwrap(name: str, value: Any) -> Any:
        if isinstance(value, dict):
            item = ITEM_TAGS.get(name)
            if item is not None and set(value) <= {item}:
                return [unwrap(item, v) for v in value.get(item, [])]
            return {k: unwrap(k, v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [unwrap(name, v) for v in value]
        return value

    if content is None:
        return []
    if root in ITEM_TAGS:
        return [unwrap(ITEM_TAGS[root], v) for v in content.get(ITEM_TAGS[root], [])]
    return unwrap(root, content)
