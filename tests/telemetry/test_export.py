"""CSV and JSON export of any range: content, ISO 8601 UTC times, streaming in batches, access."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from linli.telemetry import series as series_service
from linli.telemetry.models import Observation
from tests.conftest import World, bearer
from tests.telemetry.seeding import MINUTE_MS, T0, add_device, add_readings


def _stream(db: Session, world: World, count: int) -> int:
    _dev, streams = add_device(db, world.places["c1-b1"])
    add_readings(db, streams[0], [(T0 + i * MINUTE_MS, i * 0.5) for i in range(count)])
    db.execute(insert(Observation), [{"datastream_id": streams[0], "ts": T0 - 1, "text": 'a,b"c'}])
    db.commit()
    return streams[0]


def test_csv_export_of_a_range(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, 12_345)
    url = f"/api/v1/datastreams/{sid}/export?start={T0 + MINUTE_MS}&end={T0 + 11_000 * MINUTE_MS}"
    r = client.get(url, headers=bearer(world, "staff1"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["time", "value", "text"]
    assert len(rows) == 1 + 10_999
    assert rows[1] == ["2026-01-01T00:01:00.000Z", "0.5", ""]
    assert rows[-1][0] == "2026-01-08T15:19:00.000Z"
    assert float(rows[-1][1]) == 10_999 * 0.5


def test_json_export_of_everything(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, 7_001)
    r = client.get(f"/api/v1/datastreams/{sid}/export?format=json", headers=bearer(world, "pm1"))
    assert r.status_code == 200, r.text
    body = json.loads(r.content)
    assert body["datastream"] == sid
    items = body["observations"]
    assert len(items) == 7_002
    assert items[0] == {"time": "2025-12-31T23:59:59.999Z", "value": None, "text": 'a,b"c'}
    assert items[1] == {"time": "2026-01-01T00:00:00.000Z", "value": 0.0}
    assert [i["time"] for i in items] == sorted(i["time"] for i in items)


def test_csv_quotes_text_readings(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, 1)
    r = client.get(
        f"/api/v1/datastreams/{sid}/export?start=2025-12-31T23:00:00Z&end={T0}",
        headers=bearer(world, "staff1"),
    )
    assert r.text.splitlines()[1] == '2025-12-31T23:59:59.999Z,,"a,b""c"'


def test_export_reads_in_batches(db: Session, world: World) -> None:
    sid = _stream(db, world, 2_500)
    from linli.device import service as device_service

    view = device_service.readable_stream(db, _admin(db), sid)
    plan = series_service.ExportPlan(view, T0, T0 + 10_000 * MINUTE_MS)
    sizes = [len(b) for b in series_service.export_batches(db, plan, batch=1000)]
    assert sizes == [1000, 1000, 500]


def _admin(db: Session) -> object:
    from linli.account import service as account_service

    account = account_service.by_username(db, "district")
    assert account is not None
    return account_service.build_actor(db, account, via="cli")


def test_export_streams(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, 12_000)
    with client.stream(
        "GET", f"/api/v1/datastreams/{sid}/export", headers=bearer(world, "staff1")
    ) as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers
        chunks = [c for c in r.iter_raw() if c]
    assert len(chunks) >= 3
    assert sum(c.count(b"\n") for c in chunks) == 1 + 12_001


def test_export_access(client: TestClient, db: Session, world: World) -> None:
    sid = _stream(db, world, 3)
    url = f"/api/v1/datastreams/{sid}/export"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(world, "carol")).status_code == 403
    assert client.get(url, headers=bearer(world, "staff2")).status_code == 404
    assert client.get(url + "?format=xml", headers=bearer(world, "staff1")).status_code == 422
