"""Seed a believable demo community through the services, once, and hand back its logins."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.case import service as case_service
from linli.core.actor import ROLES, Actor
from linli.core.time import utc_now
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.environment import service as environment_service
from linli.incident import demo as incident_demo
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate, PlaceKind
from linli.resident import service as resident_service
from linli.resident.schemas import ID_CHECK, ID_WEIGHTS, HouseholdCreate, Relation, ResidentCreate
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate
from linli.sharing import service as sharing_service
from linli.sharing.schemas import RecipientCreate
from linli.simulate.plan import DEVICES_FILE, demo_devices
from linli.waste import service as waste_service

# The street office's code doubles as the marker that the demo community is already there.
SEED_MARKER_CODE = "demo-street"
CREDENTIALS_FILE = "demo-credentials.json"
HOUSEHOLDS = 600
RANDOM_SEED = 42

Progress = Callable[[int, int], None]
Gender = Literal["male", "female"]

# (surname, pinyin, relative frequency) — the most common surnames in China.
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 72),
    ("李", "li", 71),
    ("张", "zhang", 68),
    ("刘", "liu", 53),
    ("陈", "chen", 45),
    ("杨", "yang", 31),
    ("黄", "huang", 24),
    ("赵", "zhao", 20),
    ("吴", "wu", 19),
    ("周", "zhou", 19),
    ("徐", "xu", 15),
    ("孙", "sun", 14),
    ("马", "ma", 13),
    ("朱", "zhu", 13),
    ("胡", "hu", 12),
    ("郭", "guo", 11),
    ("何", "he", 10),
    ("林", "lin", 10),
    ("高", "gao", 10),
    ("罗", "luo", 9),
    ("郑", "zheng", 9),
    ("梁", "liang", 8),
    ("谢", "xie", 7),
    ("宋", "song", 6),
    ("唐", "tang", 6),
    ("许", "xu", 6),
    ("韩", "han", 5),
    ("冯", "feng", 5),
    ("邓", "deng", 5),
    ("曹", "cao", 5),
    ("彭", "peng", 5),
    ("曾", "zeng", 4),
    ("沈", "shen", 4),
    ("蒋", "jiang", 4),
    ("陆", "lu", 4),
    ("顾", "gu", 3),
    ("钱", "qian", 3),
    ("范", "fan", 3),
    ("姚", "yao", 3),
    ("叶", "ye", 3),
)
_SURNAME_WEIGHTS = tuple(weight for _s, _p, weight in SURNAMES)

GIVEN_MALE = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林洋峰建国志文海东亮晨轩博睿铭泽宸诚嘉"
)
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英红梅琳燕萍雪婷慧颖洁倩晶欣怡佳雨涵萱诗梦思悦琪瑶可馨桐兰"
# Names that people born before 1960 in Shanghai typically carry.
ELDER_MALE = ("建国", "国强", "志明", "德华", "根宝", "永康", "金福", "文斌", "培德", "荣生")
ELDER_FEMALE = ("秀英", "桂兰", "凤英", "玉珍", "美华", "秀珍", "月娥", "桂芳", "阿娣", "雅琴")

# Administrative division codes: Shanghai districts, and where many newcomers come from.
REGIONS_LOCAL = ("310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112")
REGIONS_OTHER = ("320102", "330106", "340104", "410105", "420106", "510107", "370102", "360102")
PHONE_PREFIXES = tuple(
    [f"13{d}" for d in range(10)]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + [f"18{d}" for d in range(10)]
)

# (kind, weight): the household mix of an older Shanghai neighbourhood.
HOUSEHOLD_KINDS: tuple[tuple[str, int], ...] = (
    ("elder_single", 10),
    ("elder_couple", 15),
    ("young_couple", 12),
    ("empty_nest", 9),
    ("family", 30),
    ("three_generations", 10),
    ("tenants", 13),
    ("single", 7),
)


@dataclass(frozen=True)
class CompoundPlan:
    """A compound (小区) and the shape of its buildings."""

    code: str
    name: str
    buildings: int
    units: int
    floors: int
    rooms_per_floor: int
    latitude: float
    longitude: float


@dataclass(frozen=True)
class CommunityPlan:
    """A community (社区) and its compounds."""

    code: str
    name: str
    latitude: float
    longitude: float
    compounds: tuple[CompoundPlan, ...]


COMMUNITIES = (
    CommunityPlan(
        "demo-c1",
        "幸福社区",
        31.2291,
        121.4453,
        (
            CompoundPlan("demo-c1-xf", "幸福小区", 4, 3, 6, 2, 31.2297, 121.4441),
            CompoundPlan("demo-c1-yg", "阳光花园", 2, 2, 12, 4, 31.2283, 121.4470),
        ),
    ),
    CommunityPlan(
        "demo-c2",
        "和平社区",
        31.2352,
        121.4526,
        (
            CompoundPlan("demo-c2-hp", "和平新村", 3, 3, 6, 2, 31.2359, 121.4515),
            CompoundPlan("demo-c2-bj", "滨江苑", 1, 3, 18, 4, 31.2344, 121.4539),
        ),
    ),
)

# (role, username, place code, display name) of the staff logins; residents are added from data.
STAFF = (
    ("caregiver", "caregiver.c1", "demo-c1", "吴佳怡"),
    ("grid_worker", "grid.c1", "demo-c1", "王磊"),
    ("community_staff", "staff.c1", "demo-c1", "张静"),
    ("property_manager", "property.c1", "demo-c1", "刘志强"),
    ("responder", "responder.c1", "demo-c1", "赵勇"),
    ("police_liaison", "police.c1", "demo-c1", "孙涛"),
    ("community_admin", "admin.c1", "demo-c1", "李红梅"),
    ("district_admin", "admin.district", SEED_MARKER_CODE, "陈建华"),
    ("auditor", "auditor.c1", "demo-c1", "周敏"),
)
_READABLE_CHARS = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass
class _Person:
    """A resident about to be registered."""

    name: str
    surname_index: int
    gender: Gender
    age: int
    relation: Relation


@dataclass
class _Dwelling:
    """A flat in a unit: where a household can live."""

    unit_id: int
    community_code: str
    compound_code: str
    room: str
    floor: int
    area_m2: Decimal


def is_seeded(db: Session) -> bool:
    """Whether the demo community is already in the database."""
    return place_service.by_code(db, SEED_MARKER_CODE) is not None


def credentials_path(data_dir: Path) -> Path:
    """Where the demo logins are written."""
    return data_dir / CREDENTIALS_FILE


def read_credentials(data_dir: Path) -> list[dict[str, str]]:
    """The demo logins written at first seed, or an empty list when the file is gone."""
    path = credentials_path(data_dir)
    if not path.exists():
        return []
    loaded = json.loads(path.read_text(encoding="utf-8"))
    return [{str(k): str(v) for k, v in entry.items()} for entry in loaded]


def write_private_file(path: Path, content: str) -> None:
    """Write ``content`` to a file only its owner can read (0600), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(content)
    os.replace(tmp, path)


def seed_demo(
    db: Session, data_dir: Path, *, progress: Progress | None = None
) -> list[dict[str, str]]:
    """Create the demo community once (the caller commits) and return its logins.

    The plain passwords and API keys exist only in the returned list and in
    ``<data_dir>/demo-credentials.json`` (mode 0600); the database keeps their digests.
    """
    if is_seeded(db):
        return read_credentials(data_dir)
    rng = random.Random(RANDOM_SEED)  # noqa: S311  (made-up people, reproducible on purpose)
    today = utc_now().date()
    places = _create_places(db)
    dwellings = _dwellings(rng, places)
    chosen = sorted(rng.sample(range(len(dwellings)), HOUSEHOLDS))
    ids = _Identities(rng, today)
    heads: list[tuple[str, int, str]] = []  # (compound code, resident id, surname pinyin)
    for done, index in enumerate(chosen, start=1):
        dwelling = dwellings[index]
        household = resident_service.create_household(
            db,
            None,
            HouseholdCreate(
                place_id=dwelling.unit_id,
                room=dwelling.room,
                floor=dwelling.floor,
                area_m2=dwelling.area_m2,
            ),
        )
        members = _household_members(rng)
        for position, person in enumerate(members):
            resident = resident_service.create_resident(
                db, None, ids.resident(person, household_id=household.id)
            )
            if position == 0 and len(members) >= 2 and dwelling.community_code == "demo-c1":
                pinyin = SURNAMES[person.surname_index][1]
                heads.append((dwelling.compound_code, resident.id, pinyin))
        if progress is not None:
            progress(done, len(chosen))
    credentials = _create_accounts(db, places, _pick_demo_residents(heads))
    write_private_file(
        credentials_path(data_dir), json.dumps(credentials, ensure_ascii=False, indent=2) + "\n"
    )
    seed_devices(db, data_dir)
    return credentials


# --- devices --------------------------------------------------------------------------------


def devices_path(data_dir: Path) -> Path:
    """Where the demo devices' tokens are kept for the simulator (mode 0600)."""
    return data_dir / DEVICES_FILE


def seed_devices(db: Session, data_dir: Path) -> int:
    """Register the demo devices that are missing and keep their tokens; returns how many.

    Tokens exist only at registration, so a device whose token file entry was lost gets a new
    token here (the caller commits).
    """
    device_service.ensure_catalog(db)
    case_service.ensure_categories(db)
    path = devices_path(data_dir)
    kept: dict[str, dict[str, str]] = {}
    if path.exists():
        kept = {e["uid"]: e for e in json.loads(path.read_text(encoding="utf-8"))}
    made = 0
    entries: list[dict[str, str]] = []
    for plan in demo_devices():
        place = place_service.by_code(db, plan.place_code)
        if place is None:
            continue
        ref = device_service.ref_by_uid(db, plan.uid)
        if ref is None:
            _device, token = device_service.create_device(
                db,
                None,
                DeviceCreate(
                    uid=plan.uid,
                    name=plan.name,
                    place_id=place.id,
                    profile=plan.profile,
                    latitude=plan.latitude,
                    longitude=plan.longitude,
                    is_public=plan.profile in ("air_quality", "noise", "water_level"),
                ),
            )
            made += 1
        elif plan.uid in kept:
            entries.append(kept[plan.uid])
            continue
        else:
            token = device_service.reissue_token(db, ref.id)
        entries.append({"uid": plan.uid, "profile": plan.profile, "token": token})
    write_private_file(path, json.dumps(entries, ensure_ascii=False, indent=2) + "\n")
    seed_rules(db)
    # Bins linked to the smart bins, cards, trucks, a week of sorting and a collection route.
    waste_service.seed_demo(db)
    # Noise rules per monitored place, from its GB 3096-2008 zone class (class 1 by default).
    environment_service.sync_noise_rules(db, None)
    # The site plan's points, responders, equipment and residents who need help to leave.
    incident_demo.seed(db)
    # Who hears of the street's incidents outside the platform, and what they may be told.
    seed_recipients(db, data_dir)
    # The entrusted processors of the notification channels, so that messages go out.
    seed_processors(db)
    return made


FEEDS_FILE = "demo-feeds.json"
# (name, kind, purpose, legal basis, allowed fields, incident types, lowest severity)
DEMO_RECIPIENTS: tuple[tuple[str, str, str, str, list[str], list[str], int], ...] = (
    (
        "幸福路派出所",
        "police",
        "治安与公共安全事件的出警协同",
        "legal_duty",
        ["headline", "area", "geo", "incident_status"],
        ["fire", "gas_leak", "intrusion"],
        3,
    ),
    (
        "区供水公司调度中心",
        "utility",
        "供水管网爆管抢修",
        "public_interest",
        ["headline", "description", "area", "geo", "incident_status", "responders"],
        ["pipe_burst", "flooding"],
        2,
    ),
)


def feeds_path(data_dir: Path) -> Path:
    """Where the demo recipients' feed tokens are kept (mode 0600)."""
    return data_dir / FEEDS_FILE


def seed_recipients(db: Session, data_dir: Path) -> int:
    """Register the demo street's outside recipients once; their feed tokens go to a private
    file (they are shown only once). Returns how many were made."""
    street = place_service.by_code(db, SEED_MARKER_CODE)
    admin = account_service.by_username(db, "admin.district")
    if street is None or admin is None or sharing_service.has_recipients_for(db, street.path):
        return 0
    actor = account_service.build_actor(db, admin, via="system")
    feeds = []
    for name, kind, purpose, basis, fields, types, severity in DEMO_RECIPIENTS:
        issued = sharing_service.create_recipient(
            db,
            actor,
            RecipientCreate(
                place_id=street.id,
                name=name,
                kind=kind,
                purpose=purpose,
                legal_basis=basis,
                allowed_fields=fields,
                incident_types=types,
                min_severity=severity,
            ),
        )
        feeds.append(
            {
                "recipient": name,
                "feed": f"/sharing/feeds/{issued.id}/alerts.atom",
                "token": issued.feed_token,
            }
        )
    write_private_file(feeds_path(data_dir), json.dumps(feeds, ensure_ascii=False, indent=2) + "\n")
    return len(feeds)


# The demo's entrusted processors, one per notification channel: delivery sends nothing
# through a channel whose processor is not in the recipient registry with a contract.
DEMO_PROCESSORS: tuple[dict[str, object], ...] = tuple(
    {
        "channel": channel,
        "name": f"演示{label}服务商",
        "contract_reference": f"DEMO-DPA-{channel}",
        "contact": "演示环境，无真实合同",
        "purpose": "演示：投递社区通知",
    }
    for channel, label in (
        ("email", "邮件"),
        ("sms", "短信"),
        ("webhook", "Webhook"),
        ("wecom", "企业微信"),
        ("dingtalk", "钉钉"),
    )
)


def seed_processors(db: Session) -> int:
    """Register the demo's notification processors (again: it changes nothing the second
    time). Returns how many registry entries there are for them."""
    return len(sharing_service.sync_processors(db, list(DEMO_PROCESSORS)))


# (template, property, parameter overrides, name) of the demo street's rules, all switched on;
# named in Chinese like the rest of the demo community's data. Full and burning bins are
# watched by the waste domain against each bin's own threshold, not by a rule here.
DEMO_RULES: tuple[tuple[str, str, dict[str, object], str], ...] = (
    ("water_level_high", "water_level", {}, "低洼处积水"),
    ("flood_pump_off", "", {"scope": "compound"}, "积水且排涝泵停运"),
    ("smoke", "smoke", {}, "楼道烟雾报警"),
    ("pm25_high", "pm25", {}, "PM2.5 超标"),
    ("battery_low", "battery", {}, "设备电量低"),
    ("stuck_sensor", "noise", {"for_min": 10}, "噪声监测点数值不变"),
    ("device_silent", "pm25", {}, "空气监测站离线"),
    ("device_silent", "noise", {}, "噪声监测点离线"),
    ("device_silent", "water_level", {}, "积水监测离线"),
    ("unusual_reading", "pressure", {}, "管网压力异常"),
    ("pipe_burst", "pressure", {}, "供水管爆管（压力骤降）"),
)


def seed_rules(db: Session) -> int:
    """Switch on the demo street's alarm rules that are missing; returns how many were made."""
    street = place_service.by_code(db, SEED_MARKER_CODE)
    if street is None:
        return 0
    made = 0
    for template, prop, params, name in DEMO_RULES:
        if rule_service.has_rule(db, template=template, place_id=street.id, property_key=prop):
            continue
        rule_service.create(
            db,
            None,
            RuleCreate(
                template=template,
                place_id=street.id,
                property_key=prop or None,
                params=params or None,
                name=name,
                enabled=True,
            ),
        )
        made += 1
    return made


# --- places ---------------------------------------------------------------------------------


def _place(
    db: Session,
    parent_id: int | None,
    kind: PlaceKind,
    name: str,
    code: str,
    latitude: float | None = None,
    longitude: float | None = None,
) -> int:
    place = place_service.create(
        db,
        None,
        PlaceCreate(
            parent_id=parent_id,
            kind=kind,
            name=name,
            code=code,
            latitude=latitude,
            longitude=longitude,
        ),
    )
    return place.id


def _create_places(db: Session) -> dict[str, int]:
    """The tree from the city down to every unit: place ids keyed by place code."""
    city = _place(db, None, "city", "上海市", "demo-city", 31.2304, 121.4737)
    district = _place(db, city, "district", "示例区", "demo-district", 31.2260, 121.4500)
    street = _place(db, district, "street_office", "幸福街道", SEED_MARKER_CODE, 31.2320, 121.4490)
    made = {"demo-city": city, "demo-district": district, SEED_MARKER_CODE: street}
    for plan in COMMUNITIES:
        community = _place(
            db, street, "community", plan.name, plan.code, plan.latitude, plan.longitude
        )
        made[plan.code] = community
        number = 0
        for cp in plan.compounds:
            compound = _place(
                db, community, "compound", cp.name, cp.code, cp.latitude, cp.longitude
            )
            made[cp.code] = compound
            for b in range(1, cp.buildings + 1):
                number += 1
                building_code = f"{cp.code}-b{number}"
                building = _place(
                    db,
                    compound,
                    "building",
                    f"{number}号楼",
                    building_code,
                    round(cp.latitude + 0.0002 * b, 6),
                    round(cp.longitude + 0.0003 * b, 6),
                )
                made[building_code] = building
                for u in range(1, cp.units + 1):
                    unit_code = f"{building_code}-u{u}"
                    made[unit_code] = _place(db, building, "unit", f"{u}单元", unit_code)
    return made


def _dwellings(rng: random.Random, places: dict[str, int]) -> list[_Dwelling]:
    """Every flat of every unit, with its floor and a believable floor area."""
    found: list[_Dwelling] = []
    for plan in COMMUNITIES:
        for cp in plan.compounds:
            # Walk-ups of the 1990s have small flats; the towers are newer and larger.
            low, high = (45, 95) if cp.floors <= 6 else (70, 140)
            units = sorted(
                (code, place_id)
                for code, place_id in places.items()
                if code.startswith(cp.code + "-b") and "-u" in code
            )
            for _code, unit_id in units:
                for floor in range(1, cp.floors + 1):
                    for room in range(1, cp.rooms_per_floor + 1):
                        area = Decimal(rng.randint(low * 10, high * 10)) / Decimal(10)
                        found.append(
                            _Dwelling(
                                unit_id, plan.code, cp.code, f"{floor}{room:02d}", floor, area
                            )
                        )
    return found


# --- people ---------------------------------------------------------------------------------


def _surname(rng: random.Random) -> int:
    return rng.choices(range(len(SURNAMES)), weights=_SURNAME_WEIGHTS)[0]


def _person(
    rng: random.Random,
    *,
    age: int,
    relation: Relation,
    gender: Gender | None = None,
    surname_index: int | None = None,
) -> _Person:
    if gender is None:
        gender = "male" if rng.random() < 0.5 else "female"
    index = surname_index if surname_index is not None else _surname(rng)
    if age >= 65 and rng.random() < 0.6:
        given = rng.choice(ELDER_MALE if gender == "male" else ELDER_FEMALE)
    else:
        chars = GIVEN_MALE if gender == "male" else GIVEN_FEMALE
        given = rng.choice(chars) if rng.random() < 0.25 else rng.choice(chars) + rng.choice(chars)
    return _Person(SURNAMES[index][0] + given, index, gender, age, relation)


def _couple(rng: random.Random, low: int, high: int, relation: Relation) -> list[_Person]:
    head = _person(rng, age=rng.randint(low, high), relation=relation)
    partner_gender: Gender = "female" if head.gender == "male" else "male"
    partner_age = max(low - 2, min(high + 3, head.age + rng.randint(-4, 4)))
    partner_relation: Relation = "tenant" if relation == "tenant" else "family"
    partner = _person(rng, age=partner_age, relation=partner_relation, gender=partner_gender)
    return [head, partner]


def _children(rng: random.Random, parents: list[_Person], count: int) -> list[_Person]:
    father = next((p for p in parents if p.gender == "male"), parents[0])
    youngest_parent = min(p.age for p in parents)
    oldest_child = max(0, min(17, youngest_parent - 22))
    return [
        _person(
            rng,
            age=rng.randint(0, oldest_child),
            relation="family",
            surname_index=father.surname_index,
        )
        for _ in range(count)
    ]


def _household_members(rng: random.Random) -> list[_Person]:
    """The people of one household, head (owner or main tenant) first."""
    kind = rng.choices([k for k, _ in HOUSEHOLD_KINDS], weights=[w for _, w in HOUSEHOLD_KINDS])[0]
    if kind == "elder_single":
        return [_person(rng, age=rng.randint(70, 95), relation="owner")]
    if kind == "elder_couple":
        return _couple(rng, 62, 88, "owner")
    if kind == "young_couple":
        return _couple(rng, 25, 38, "owner")
    if kind == "empty_nest":
        return _couple(rng, 50, 64, "owner")
    if kind == "family":
        parents = _couple(rng, 30, 48, "owner")
        return parents + _children(rng, parents, rng.randint(1, 2))
    if kind == "three_generations":
        parents = _couple(rng, 35, 50, "owner")
        members = parents + _children(rng, parents, 1)
        father = next((p for p in parents if p.gender == "male"), parents[0])
        grandfather_age = min(92, father.age + rng.randint(24, 32))
        members.append(
            _person(
                rng,
                age=grandfather_age,
                relation="family",
                gender="male",
                surname_index=father.surname_index,
            )
        )
        if rng.random() < 0.6:
            members.append(
                _person(
                    rng,
                    age=grandfather_age - rng.randint(0, 4),
                    relation="family",
                    gender="female",
                )
            )
        return members
    if kind == "tenants":
        return [
            _person(rng, age=rng.randint(22, 40), relation="tenant")
            for _ in range(rng.randint(1, 3))
        ]
    return [_person(rng, age=rng.randint(25, 59), relation="owner")]


class _Identities:
    """Unique, valid ID numbers and phone numbers for the seeded people."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self._rng = rng
        self._today = today
        self._ids: set[str] = set()
        self._phones: set[str] = set()

    def birth_date(self, age: int) -> dt.date:
        start = dt.date(self._today.year - age - 1, self._today.month, 1)
        return start + dt.timedelta(days=self._rng.randint(1, 364))

    def id_number(self, born: dt.date, gender: str) -> str:
        rng = self._rng
        regions = REGIONS_LOCAL if rng.random() < 0.7 else REGIONS_OTHER
        while True:
            sequence = rng.randint(0, 499) * 2 + (1 if gender == "male" else 0)
            body = f"{rng.choice(regions)}{born:%Y%m%d}{sequence:03d}"
            total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
            value = body + ID_CHECK[total % 11]
            if value not in self._ids:
                self._ids.add(value)
                return value

    def phone(self) -> str:
        while True:
            value = self._rng.choice(PHONE_PREFIXES) + f"{self._rng.randint(0, 99_999_999):08d}"
            if value not in self._phones:
                self._phones.add(value)
                return value

    def resident(self, person: _Person, *, household_id: int) -> ResidentCreate:
        born = self.birth_date(person.age)
        has_phone = person.age >= 14 and (person.age < 80 or self._rng.random() < 0.5)
        return ResidentCreate(
            household_id=household_id,
            relation=person.relation,
            name=person.name,
            gender=person.gender,
            phone=self.phone() if has_phone else None,
            id_number=self.id_number(born, person.gender),
            date_of_birth=born,
        )


# --- logins ---------------------------------------------------------------------------------


def new_password() -> str:
    """A random demo password from the system CSPRNG, grouped for reading aloud."""
    while True:
        raw = "".join(secrets.choice(_READABLE_CHARS) for _ in range(16))
        if len(set(raw)) >= 8:
            return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _pick_demo_residents(heads: list[tuple[str, int, str]]) -> list[tuple[int, str]]:
    """Two household heads of community 1, in different compounds and with different surnames."""
    first = heads[0]
    second = next(
        (h for h in heads if h[0] != first[0] and h[2] != first[2]),
        next(h for h in heads[1:] if h[2] != first[2]),
    )
    return [(first[1], f"resident.{first[2]}"), (second[1], f"resident.{second[2]}")]


def _login(
    db: Session,
    *,
    role: str,
    username: str,
    display_name: str,
    place_id: int,
    resident_id: int | None,
) -> dict[str, str]:
    password = new_password()
    account = account_service.create_account(
        db,
        None,
        AccountCreate(
            username=username,
            display_name=display_name,
            password=password,
            resident_id=resident_id,
        ),
    )
    account_service.grant_role(db, None, account_id=account.id, role=role, place_id=place_id)
    owner = Actor(
        account_id=account.id, username=account.username, resident_id=resident_id, via="system"
    )
    _key, api_key = account_service.create_api_key(db, owner, account_id=account.id, name="demo")
    return {"role": role, "username": username, "password": password, "api_key": api_key}


def _create_accounts(
    db: Session, places: dict[str, int], residents: list[tuple[int, str]]
) -> list[dict[str, str]]:
    """One login per staff role and two resident logins, in the order of ``ROLES``."""
    by_role: dict[str, list[dict[str, str]]] = {role: [] for role in ROLES}
    community = places["demo-c1"]
    for resident_id, username in residents:
        by_role["resident"].append(
            _login(
                db,
                role="resident",
                username=username,
                display_name=resident_service.display_name(db, resident_id, masked=False),
                place_id=community,
                resident_id=resident_id,
            )
        )
    for role, username, code, display_name in STAFF:
        by_role[role].append(
            _login(
                db,
                role=role,
                username=username,
                display_name=display_name,
                place_id=places[code],
                resident_id=None,
            )
        )
    return [entry for role in ROLES for entry in by_role[role]]
