"""City vocabularies mapped onto the GB/T 19095-2019 classes."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from linli.core.errors import ValidationFailed
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.waste import service as waste_service
from linli.waste.schemas import ContainerCreate
from tests.conftest import World

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _compound_in(db: Session, city: str, code: str) -> int:
    parent = None
    for kind, name in (
        ("city", city),
        ("district", "区"),
        ("street_office", "街道"),
        ("community", "社区"),
        ("compound", "小区"),
    ):
        parent = place_service.create(
            db,
            None,
            PlaceCreate(parent_id=parent, kind=kind, name=name, code=f"{code}-{kind}"),  # type: ignore[arg-type]  # literal checked by pydantic
        ).id
    assert parent is not None
    return parent


def _bin(db: Session, place_id: int, code: str, category: str) -> tuple[str, str]:
    made = waste_service.create_container(
        db,
        None,
        ContainerCreate(
            place_id=place_id,
            code=code,
            name=code,
            latitude=39.9,
            longitude=116.4,
            category=category,
            capacity_l=240,
            max_load_kg=100,
        ),
    )
    return made.gb_class, made.category_code


def test_each_city_names_the_four_classes_its_own_way(db: Session, world: World) -> None:
    beijing = _compound_in(db, "北京市", "bj")
    shanghai = _compound_in(db, "上海市", "sh")
    assert _bin(db, beijing, "B1", "厨余垃圾") == ("food", "kitchen")
    assert _bin(db, beijing, "B2", "other") == ("residual", "other")
    assert _bin(db, beijing, "B3", "recyclable") == ("recyclable", "recyclable")
    assert _bin(db, shanghai, "S1", "湿垃圾") == ("food", "wet")
    assert _bin(db, shanghai, "S2", "residual") == ("residual", "dry")  # a GB class works too
    with pytest.raises(ValidationFailed):
        _bin(db, beijing, "B4", "湿垃圾")  # Shanghai's word, not Beijing's
    # The test world's city has no list of its own: the national names.
    names = [
        c.name
        for c in waste_service.ensure_vocabulary(db, place_service.get(db, world.places["c1"]))
    ]
    assert names == ["可回收物", "有害垃圾", "厨余垃圾", "其他垃圾"]
