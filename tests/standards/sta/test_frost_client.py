"""The FROST Python client (a real SensorThings client) against a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import frost_sta_client as fsc
import geojson
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, World
from tests.standards.sta.conftest import StaWorld


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(app: FastAPI, sta: StaWorld) -> Iterator[str]:
    """The app (on this test's copy of the database) served by uvicorn on a loopback port."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/sta/v1.1"
    srv.should_exit = True
    thread.join(10)


def test_frost_client_reads_and_writes(
    server: str, world: World, sta: StaWorld, db: Session
) -> None:
    anonymous = fsc.SensorThingsService(server)
    public = [t.name for t in anonymous.things().query().list()]
    assert sorted(public) == ["Device gauge-nowhere", "Device noise-pub"]

    service = fsc.SensorThingsService(server, auth_handler=fsc.AuthHandler("admin1", PASSWORD))
    names = {t.name for t in service.things().query().list()}
    assert "Device air-priv" in names
    assert "Device noise-c2" not in names

    streams = service.datastreams().query().expand("Thing,ObservedProperty").list()
    by_id = {d.id: d for d in streams}
    noise = by_id[sta.streams["noise-pub/noise"]]
    assert noise.thing.name == "Device noise-pub"
    assert noise.observed_property.name == "Sound level"
    assert noise.unit_of_measurement.symbol == "dB(A)"

    found = (
        service.observations()
        .query()
        .filter(f"Datastream/@iot.id eq {noise.id} and result ge 48")
        .orderby("phenomenonTime", "ASC")
        .list()
    )
    assert [o.result for o in found] == [48.0, 49.0]
    assert found.entities[0].id == f"{noise.id}-1700000480000"

    obs = fsc.Observation(
        result=55.5,
        phenomenon_time="2024-03-01T08:00:00Z",
        datastream=fsc.Datastream(id=noise.id),
    )
    service.create(obs)
    assert obs.id == f"{noise.id}-1709280000000"
    stored = db.execute(
        text("SELECT value FROM observations WHERE datastream_id = :d AND ts = 1709280000000"),
        {"d": noise.id},
    ).scalar()
    assert stored == 55.5

    thing = fsc.Thing(
        name="Client-made monitor",
        description="made by the FROST client",
        properties={"uid": "frost-1", "place": world.places["c1-compound"]},
        locations=[
            fsc.Location(
                name="gate",
                description="north gate",
                encoding_type="application/geo+json",
                location=geojson.Point((116.42, 39.91)),
            )
        ],
        datastreams=[
            fsc.Datastream(
                name="Gate sound level",
                description="sound at the gate",
                observation_type="http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                unit_of_measurement=fsc.UnitOfMeasurement(
                    name="decibel",
                    symbol="dB(A)",
                    definition="http://unitsofmeasure.org/ucum.html#dB",
                ),
                sensor=fsc.Sensor(id=sta.profiles["noise"]),
                observed_property=fsc.ObservedProperty(id=sta.properties["noise"]),
            )
        ],
    )
    service.create(thing)
    assert isinstance(thing.id, int)
    again = service.things().find(thing.id)
    assert again.name == "Client-made monitor"
    made = service.datastreams().query().filter(f"Thing/@iot.id eq {thing.id}").list()
    assert [d.name for d in made] == ["Gate sound level"]
