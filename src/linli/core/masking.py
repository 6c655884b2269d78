"""Display masking of personal data in lists (张*, 138****5678, 110***********1234)."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """Keep the first character: 张三 → 张*, 欧阳娜娜 → 欧***."""
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str) -> str:
    """Keep the first three and last four digits: 13812345678 → 138****5678."""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_id_number(value: str) -> str:
    """Keep the first three and last four characters of an ID number."""
    value = value.strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
