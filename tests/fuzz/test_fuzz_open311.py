"""Fuzzing Open311: form-encoded (and not so form-encoded) request bodies, ``attribute[code]``
fields and query strings give a case or a 4xx in the spec's error format, never a 5xx and never
a half-filed case; every document, JSON or XML, stays readable whatever text a case holds."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.case import service as case_service
from linli.case.models import Case
from linli.core.xmltext import xml_text
from linli.standards.open311 import render
from tests.conftest import World

V2 = "/open311/v2"
FAST = settings(max_examples=100, deadline=None, database=None)
HTTP = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\x01\x0b\x1f",
        "\ufffe",
        "nan",
        "inf",
        "-1e999",
        "1e999",
        "91",
        "31.2",
        "121.4",
        "9" * 5000,
        "²",
        "<x>&amp;</x>",
        "]]>",
        "' OR 1=1 --",
        "𠀀" * 50,
        "x" * 5000,
    ]
)
values = st.one_of(st.text(max_size=40), AWKWARD)


# --- the documents ---------------------------------------------------------------------------


def xml_readable(body: bytes) -> ET.Element:
    """The document parsed by a strict XML parser (a control character would fail here)."""
    return ET.fromstring(body)  # noqa: S314  (our own output, read back in a test)


document_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), values),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["description", "status", "values", "x"]), children, max_size=3
        )
    ),
    max_leaves=8,
)


@FAST
@given(description=values)
@example(description="bad \x01 and \x0b")  # made the XML document unreadable
def test_error_documents_are_readable_in_both_formats(description: str) -> None:
    as_json = render.errors("json", 400, description)
    assert json.loads(bytes(as_json.body)) == [{"code": 400, "description": description}]
    (error,) = xml_readable(bytes(render.errors("xml", 400, description).body))
    assert error.findtext("code") == "400"
    # XML parsers turn CR and CR LF into LF (XML 1.0 §2.11); that is all that may change.
    shown = xml_text(description).replace("\r\n", "\n").replace("\r", "\n")
    assert error.findtext("description") == shown


@settings(FAST, max_examples=40)
@given(value=st.lists(st.dictionaries(st.sampled_from(["a", "b", "description"]), document_values)))
def test_any_request_list_renders_as_well_formed_xml(value: list[dict[str, Any]]) -> None:
    root = xml_readable(render.to_xml("service_requests", value))
    assert root.tag == "service_requests"
    assert len(root) == len(value)


def test_regression_control_characters_in_xml() -> None:
    body = bytes(render.errors("xml", 404, "unknown service_code \x01").body)
    assert xml_readable(body).findtext("error/description") == "unknown service_code \ufffd"


# --- posting requests ------------------------------------------------------------------------

FIELDS = [
    "api_key",
    "service_code",
    "lat",
    "long",
    "address_string",
    "description",
    "attribute[location_detail]",
    "attribute[]",
    "attribute[x][y]",
    "jurisdiction_id",
    "email",
    "device_id",
    "media_url",
]


def _cases(db: Session) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


def forms(world: World) -> st.SearchStrategy[dict[str, str]]:
    """A plausible request with up to three fields dropped, replaced or added."""
    base = {
        "api_key": world.api_keys["alice"],
        "service_code": "light",
        "lat": "31.2",
        "long": "121.4",
        "description": "The light is out",
    }
    keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))
    api_keys = st.sampled_from(
        [world.api_keys["alice"], world.api_keys["staff1"], "lk_bogus", "", "x" * 500]
    )
    codes = st.sampled_from(["light", "noise", "nope", "", "LIGHT", " light "])

    def build(drop: set[str], over: dict[str, str], key: str, code: str) -> dict[str, str]:
        form = {k: v for k, v in base.items() if k not in drop}
        if "api_key" in form:
            form["api_key"] = key
        if "service_code" in form:
            form["service_code"] = code
        form.update(over)
        return form

    return st.builds(
        build,
        st.sets(st.sampled_from(sorted(base)), max_size=2),
        st.dictionaries(keys, values, max_size=3),
        api_keys,
        codes,
    )


@pytest.fixture
def categories(db: Session) -> None:
    case_service.ensure_categories(db)
    db.commit()


def check_refusal(response: Any, fmt: str) -> None:
    """A 4xx in the spec's error format: a list of one code and description."""
    assert 400 <= response.status_code < 500, response.text
    if fmt == "json":
        (error,) = response.json()
        assert error["code"] == response.status_code
        assert error["description"]
    else:
        root = xml_readable(response.content)
        assert root.tag == "errors"
        assert root.findtext("error/code") == str(response.status_code)


@SQLITE_ONLY
@pytest.mark.usefixtures("categories")
def test_fuzzed_forms_file_a_case_or_refuse_with_nothing_stored(
    client: TestClient, world: World, db: Session
) -> None:
    @HTTP
    @given(form=forms(world), fmt=st.sampled_from(["json", "xml"]))
    @example(form={"api_key": world.api_keys["alice"], "service_code": "light\x01"}, fmt="xml")
    @example(
        form={
            "api_key": world.api_keys["alice"],
            "service_code": "light",
            "lat": "1e999",
            "long": "nan",
            "description": "x",
        },
        fmt="json",
    )
    def run(form: dict[str, str], fmt: str) -> None:
        before = _cases(db)
        response = client.post(f"{V2}/requests.{fmt}", data=form)
        after = _cases(db)
        if response.status_code == 200:
            assert after == before + 1
            if fmt == "json":
                (filed,) = response.json()
                assert filed["service_request_id"] == filed["token"]
            else:
                assert xml_readable(response.content).findtext("request/token")
            return
        check_refusal(response, fmt)
        assert after == before

    run()


@SQLITE_ONLY
@pytest.mark.usefixtures("categories")
def test_fuzzed_raw_bodies_are_refused_cleanly(
    client: TestClient, world: World, db: Session
) -> None:
    key = world.api_keys["alice"].encode()

    @HTTP
    @given(
        body=st.one_of(
            st.binary(max_size=200),
            st.binary(max_size=100).map(lambda b: b"api_key=" + key + b"&" + b),
            st.just(b"--b\r\nContent-Disposition: form-data; name=api_key\r\n\r\nx\r\n"),
        ),
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=b",
                "multipart/form-data",
                "application/json",
                "text/plain",
                "",
            ]
        ),
    )
    def run(body: bytes, content_type: str) -> None:
        before = _cases(db)
        response = client.post(
            f"{V2}/requests.json", content=body, headers={"content-type": content_type}
        )
        after = _cases(db)
        if response.status_code == 200:  # the garbage happened to hold a valid request
            assert after == before + 1
            return
        check_refusal(response, "json")
        assert after == before

    run()


# --- reading: query strings ------------------------------------------------------------------

QUERY_KEYS = [
    "start_date",
    "end_date",
    "page",
    "page_size",
    "status",
    "service_code",
    "service_request_id",
    "jurisdiction_id",
]
DATES = st.sampled_from(
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-14:00",
        "2026-01-01",
        "2026-01-01T00:00:00 08:00",
        "2026-13-01",
        "yesterday",
    ]
)


@SQLITE_ONLY
@pytest.mark.usefixtures("categories")
def test_fuzzed_query_strings_answer_200_or_400(client: TestClient) -> None:
    @HTTP
    @given(
        path=st.sampled_from(["requests", "servicerequestupdates"]),
        fmt=st.sampled_from(["json", "xml"]),
        params=st.dictionaries(st.sampled_from(QUERY_KEYS), st.one_of(values, DATES), max_size=4),
    )
    @example(path="servicerequestupdates", fmt="json", params={"end_date": "0001-01-01T00:00:00"})
    @example(path="requests", fmt="json", params={"start_date": "9999-12-31T23:59:59-14:00"})
    def run(path: str, fmt: str, params: dict[str, str]) -> None:
        response = client.get(f"{V2}/{path}.{fmt}", params=params)
        if response.status_code == 200:
            if fmt == "json":
                assert isinstance(response.json(), list)
            else:
                xml_readable(response.content)
            return
        check_refusal(response, fmt)

    run()
