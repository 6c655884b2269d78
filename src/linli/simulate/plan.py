"""The demo community's devices: what they are, where they stand (data, not code)."""

from __future__ import annotations

from dataclasses import dataclass

DEVICES_FILE = "demo-devices.json"


@dataclass(frozen=True, slots=True)
class DemoDevice:
    """One simulated device as the demo seed registers it."""

    uid: str
    name: str
    place_code: str
    profile: str
    latitude: float
    longitude: float


# (community code, centre latitude, centre longitude, compounds, building codes)
_SITES = (
    (
        "demo-c1",
        31.2291,
        121.4453,
        ("demo-c1-xf", "demo-c1-yg"),
        (
            "demo-c1-xf-b1",
            "demo-c1-xf-b2",
            "demo-c1-xf-b3",
            "demo-c1-xf-b4",
            "demo-c1-yg-b5",
            "demo-c1-yg-b6",
        ),
    ),
    (
        "demo-c2",
        31.2352,
        121.4526,
        ("demo-c2-hp", "demo-c2-bj"),
        ("demo-c2-hp-b1", "demo-c2-hp-b2", "demo-c2-hp-b3", "demo-c2-bj-b4"),
    ),
)
# profile → (uid prefix, Chinese name, count in c1, count in c2)
_KINDS = (
    ("air_quality", "AQ", "空气监测站", 2, 1),
    ("noise", "NZ", "噪声监测点", 2, 2),
    ("water_quality", "WQ", "二次供水水质探头", 1, 1),
    ("water_level", "WL", "低洼处积水监测", 2, 2),
    ("pipe_pressure", "PP", "供水管网压力计", 2, 1),
    ("smoke_detector", "SD", "楼道烟感", 4, 3),
    ("smart_bin", "BN", "智能垃圾桶", 3, 3),
    ("electricity_meter", "EM", "楼栋电表", 2, 2),
    ("wearable", "WB", "长者健康手环", 4, 3),
    ("pump_controller", "PU", "排涝泵", 2, 2),
    ("gas_detector", "GD", "燃气及一氧化碳探测器", 1, 1),
    ("manhole_cover", "MH", "智能井盖", 1, 1),
)


def demo_devices() -> list[DemoDevice]:
    """The ~48 devices of the two demo communities, with believable coordinates."""
    found: list[DemoDevice] = []
    for site_index, (community, lat, lon, compounds, buildings) in enumerate(_SITES):
        short = community.removeprefix("demo-")
        for kind_index, (profile, prefix, name, *counts) in enumerate(_KINDS):
            for n in range(counts[site_index]):
                indoor = profile in (
                    "smoke_detector",
                    "electricity_meter",
                    "wearable",
                    "gas_detector",
                )
                spots = buildings if indoor else compounds
                place = spots[n % len(spots)]
                # Spread devices over the site: a small, fixed offset per kind and number.
                dlat = ((kind_index * 7 + n * 3) % 11 - 5) * 0.00018
                dlon = ((kind_index * 5 + n * 4) % 13 - 6) * 0.00021
                found.append(
                    DemoDevice(
                        uid=f"demo-{short}-{prefix}{n + 1:02d}",
                        name=f"{name} {n + 1}",
                        place_code=place,
                        profile=profile,
                        latitude=round(lat + dlat, 6),
                        longitude=round(lon + dlon, 6),
                    )
                )
    return found
