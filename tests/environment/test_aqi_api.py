"""The public AQI calculator: JSON endpoint and page, in Chinese and English, without login."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
API = "/api/v1/environment/aqi"


@SQLITE
def test_the_endpoint_answers_anonymous_callers_in_their_language(client: TestClient) -> None:
    query = {"standard": "cn-2026", "mode": "daily", "pm25": 75, "pm10": 100, "o3": 120}
    en = client.get(API, params=query, headers=EN)
    zh = client.get(API, params=query, headers=ZH)
    assert en.status_code == zh.status_code == 200
    body = en.json()
    assert body["aqi"] == 114
    assert body["iaqi"] == {"pm25": 114, "pm10": 86, "o3": 67}
    assert body["primary"] == ["pm25"]
    assert body["exceeding"] == ["pm25"]
    assert body["level"] == 3
    assert body["category"] == body["category_key"] == "Lightly polluted"
    assert body["colour"] == "#FF7E00"
    assert body["missing"] == ["no2", "so2", "co"]
    assert body["low_confidence"] is False
    assert body["standard"] == "cn-2026"
    assert body["mode"] == "daily"
    rows = {row["pollutant"]: row for row in body["pollutants"]}
    assert rows["pm25"] == {
        "pollutant": "pm25",
        "label": "PM2.5",
        "concentration": 75.0,
        "unit": "µg/m³",
        "iaqi": 114,
        "primary": True,
    }
    assert rows["co"]["unit"] == "mg/m³"
    assert rows["co"]["iaqi"] is None
    chinese = zh.json()
    assert chinese["category"] == "轻度污染"
    assert chinese["category_key"] == "Lightly polluted"
    assert chinese["advice"].startswith("儿童、老年人")
    assert chinese["pollutants"][2]["label"] == "臭氧（O₃）"


@SQLITE
def test_epa_and_humidity_flag(client: TestClient) -> None:
    r = client.get(API, params={"standard": "us-epa", "pm25": 35.4, "humidity": 85}, headers=EN)
    assert r.status_code == 200
    body = r.json()
    assert body["aqi"] == 100
    assert body["category"] == "Moderate"
    assert body["primary"] == ["pm25"]
    assert body["low_confidence"] is True
    assert body["humidity"] == 85.0


@SQLITE
def test_no_values_give_no_index(client: TestClient) -> None:
    body = client.get(API, params={"standard": "cn-2012"}, headers=EN).json()
    assert body["aqi"] is None
    assert body["level"] is None
    assert body["category_key"] == "No index"
    assert body["missing"] == ["pm25", "pm10", "o3", "no2", "so2", "co"]


@SQLITE
@pytest.mark.parametrize(
    ("query", "field", "english", "chinese"),
    [
        ({"standard": "eu-2030", "pm25": 1}, "standard", "Unknown air quality standard", "未知"),
        ({"mode": "weekly", "pm25": 1}, "mode", "Unknown averaging mode", "统计方式"),
        ({"pm25": -1}, "pm25", "A concentration must be", "浓度必须"),
        ({"co": "nan"}, "co", "A concentration must be", "浓度必须"),
        ({"pm25": 10, "humidity": 101}, "humidity", "Relative humidity must", "相对湿度"),
    ],
)
def test_bad_input_is_a_422_problem(
    client: TestClient, query: dict[str, object], field: str, english: str, chinese: str
) -> None:
    en = client.get(API, params=query, headers=EN)
    zh = client.get(API, params=query, headers=ZH)
    assert en.status_code == zh.status_code == 422
    assert en.headers["content-type"].startswith("application/problem+json")
    assert en.json()["type"].endswith("/validation_failed")
    assert en.json()["field"] == field
    assert en.json()["detail"].startswith(english)
    assert chinese in zh.json()["detail"]


@SQLITE
def test_a_word_instead_of_a_number_is_a_422_problem(client: TestClient) -> None:
    r = client.get(API, params={"pm25": "lots"}, headers=EN)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")


@SQLITE
def test_calculator_page_in_chinese_and_english(client: TestClient) -> None:
    query = {"standard": "cn-2026", "mode": "daily", "pm25": "75", "pm10": "", "humidity": "80"}
    zh = client.get("/environment/aqi", params=query, headers=ZH)
    en = client.get("/environment/aqi", params=query, headers=EN)
    assert zh.status_code == en.status_code == 200
    assert "<h1>空气质量指数计算器</h1>" in zh.text
    assert "<h1>Air quality index calculator</h1>" in en.text
    assert "AQI 114" in en.text
    assert "AQI 114" in zh.text
    # The colour is never the only cue: the level is written out.
    assert "3级：轻度污染" in zh.text
    assert "Level 3: Lightly polluted" in en.text
    assert 'fill="#FF7E00"' in en.text
    assert "Children, older people" in en.text
    assert "相对湿度高于 70%" in zh.text
    assert "The relative humidity is above 70 %." in en.text
    # The form keeps what was entered and is labelled.
    assert re.search(r'<label for="f-pm25">PM2.5 \(µg/m³\)', en.text)
    assert 'value="75"' in en.text
    assert '<option value="cn-2026" selected>' in en.text
    assert "<script>" not in en.text  # the page has no inline script (CSP)


@SQLITE
def test_empty_calculator_page_shows_only_the_form(client: TestClient) -> None:
    page = client.get("/environment/aqi", headers=EN)
    assert page.status_code == 200
    assert 'id="h-result"' not in page.text
    assert '<form method="get" action="/environment/aqi"' in page.text


@SQLITE
def test_calculator_page_marks_a_bad_value_on_its_field(client: TestClient) -> None:
    page = client.get("/environment/aqi", params={"pm25": "abc", "co": "2"}, headers=EN)
    assert page.status_code == 422
    assert 'id="f-pm25-error" role="alert">Enter a number of zero or more' in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'id="h-result"' not in page.text
    humid = client.get("/environment/aqi", params={"pm25": "10", "humidity": "120"}, headers=ZH)
    assert humid.status_code == 422
    assert "请填写 0 到 100 之间的相对湿度" in humid.text


@pytest.mark.browser
def test_calculator_in_a_browser_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
) -> None:
    tab = visit()
    tab.goto("/environment/aqi")
    paths = [
        "/environment/aqi",
        "/environment/aqi?standard=cn-2026&mode=daily&pm25=75&pm10=130&o3=90&humidity=80",
        "/environment/aqi?standard=us-epa&mode=hourly&pm25=400&no2=abc",
    ]

    def fill_in(mode: str) -> None:
        tab.goto("/environment/aqi")
        tab.page.select_option("#f-standard", "cn-2012")
        tab.page.fill("#f-pm25", "160")
        tab.page.fill("#f-so2", "20")
        tab.submit('main form button[type="submit"]')
        assert "standard=cn-2012" in tab.page.url
        text = tab.page.inner_text("#h-result + p")
        assert "210" in text
        level = tab.page.inner_text("dl.facts dd")
        assert ("5级" in level) if mode != "en" else ("Level 5" in level)
        tab.check(mode)

    _three_ways(tab, paths, fill_in)
    _assert_clean(tab)


@SQLITE
def test_calculator_reads_full_width_digits(client: TestClient) -> None:
    page = client.get(
        "/environment/aqi", params={"standard": "cn-2026", "pm25": "７５"}, headers=ZH
    )
    assert page.status_code == 200
    assert "AQI 114" in page.text
