"""The built-in catalogue of observed properties and device profiles (data, not code)."""

from __future__ import annotations

# key: (English name, Chinese name, UCUM unit, display unit, plausible min, plausible max)
PROPERTIES: dict[str, tuple[str, str, str, str, float | None, float | None]] = {
    "pm25": ("PM2.5", "PM2.5", "ug/m3", "µg/m³", 0, 2000),
    "pm10": ("PM10", "PM10", "ug/m3", "µg/m³", 0, 3000),
    "no2": ("Nitrogen dioxide", "二氧化氮", "ug/m3", "µg/m³", 0, 2000),
    "o3": ("Ozone", "臭氧", "ug/m3", "µg/m³", 0, 1500),
    "co": ("Carbon monoxide", "一氧化碳", "mg/m3", "mg/m³", 0, 200),
    "so2": ("Sulphur dioxide", "二氧化硫", "ug/m3", "µg/m³", 0, 3000),
    "noise": ("Sound level", "噪声", "dB", "dB(A)", 0, 150),
    "temperature": ("Temperature", "温度", "Cel", "°C", -60, 90),
    "humidity": ("Relative humidity", "相对湿度", "%", "%", 0, 100),
    "ph": ("pH", "pH 值", "[pH]", "pH", 0, 14),
    "turbidity": ("Turbidity", "浊度", "[NTU]", "NTU", 0, 4000),
    "chlorine": ("Residual chlorine", "余氯", "mg/L", "mg/L", 0, 10),
    "water_level": ("Water level", "积水水位", "cm", "cm", -100, 500),
    "pressure": ("Pipe pressure", "管网压力", "kPa", "kPa", 0, 2000),
    "smoke": ("Smoke alarm", "烟雾报警", "{alarm}", "", 0, 1),
    "fill_level": ("Fill level", "满溢度", "%", "%", 0, 100),
    "card_swipe": ("Card swipe", "刷卡投放", "{event}", "", 0, 1),
    "energy": ("Energy", "用电量", "kW.h", "kWh", 0, None),
    "power": ("Power", "功率", "W", "W", 0, 1_000_000),
    "heart_rate": ("Heart rate", "心率", "/min", "次/分", 0, 300),
    "spo2": ("Blood oxygen", "血氧", "%", "%", 0, 100),
    "steps": ("Steps", "步数", "{steps}", "步", 0, 200_000),
    "fall": ("Fall detected", "跌倒", "{event}", "", 0, 1),
    "battery": ("Battery", "电量", "%", "%", 0, 100),
}

# code: (English name, Chinese name, adapter, properties, expected interval s, retention days)
PROFILES: dict[str, tuple[str, str, str, tuple[str, ...], int, int]] = {
    "air_quality": (
        "Air quality station",
        "空气质量监测站",
        "json_tb",
        ("pm25", "pm10", "no2", "o3", "co", "so2", "temperature", "humidity"),
        60,
        730,
    ),
    "noise": ("Noise monitor", "噪声监测仪", "json_tb", ("noise",), 60, 365),
    "water_quality": (
        "Water quality probe",
        "水质监测仪",
        "senml",
        ("ph", "turbidity", "chlorine"),
        300,
        730,
    ),
    "water_level": (
        "Water level gauge",
        "积水监测",
        "json_tb",
        ("water_level", "battery"),
        60,
        730,
    ),
    "pipe_pressure": ("Pipe pressure sensor", "管网压力计", "json_tb", ("pressure",), 60, 365),
    "smoke_detector": (
        "Smoke detector",
        "烟感",
        "json_tb",
        ("smoke", "battery", "temperature"),
        3600,
        365,
    ),
    "smart_bin": (
        "Smart bin",
        "智能垃圾桶",
        "json_tb",
        ("fill_level", "card_swipe", "battery"),
        600,
        365,
    ),
    "electricity_meter": (
        "Electricity meter",
        "智能电表",
        "json_tb",
        ("energy", "power"),
        900,
        1095,
    ),
    "wearable": (
        "Care wearable",
        "健康手环",
        "wearable_csv",
        ("heart_rate", "spo2", "steps", "fall", "battery"),
        60,
        180,
    ),
}
