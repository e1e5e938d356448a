"""Invented residents of Hangzhou for the benchmarks: names, resident id numbers, mobile
numbers, organisations, and each day's lifestyle observations.

Nothing here is real. Person ``n``'s identity follows from ``n`` alone: an 18-digit id number
(district, birth date, sequence, the ISO 7064 check character) that no other ``n`` below
:data:`ID_SPACE` gets, a name drawn from common surnames and given-name characters, and a
mobile number as people type it. A person's habits follow from their pseudonymous id (so the
seven days of one person, written in seven passes, look like one person's week); each day's
figures vary around them. Everyone stays green under the shipped policy: at most 10
cigarettes and 400 ml of alcohol a day take 6 + 3 of the base 80 points, and green starts at
70 (so loading a week logs no colour change, as the service would not either).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

DAY = 86_400
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯"
            "邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚华建国文辉玲晨浩宇欣怡涵萱诺轩嘉俊佳琪睿哲"
#: Hangzhou's districts: (administrative code, name).
DISTRICTS = (("330102", "上城区"), ("330105", "拱墅区"), ("330106", "西湖区"),
             ("330108", "滨江区"), ("330109", "萧山区"), ("330110", "余杭区"),
             ("330111", "富阳区"), ("330112", "临安区"), ("330113", "临平区"),
             ("330114", "钱塘区"))
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150",
                   "151", "152", "153", "155", "156", "157", "158", "159", "166", "177", "180",
                   "181", "182", "183", "185", "186", "187", "188", "189", "199")
BRANDS = ("西溪", "钱江", "之江", "云栖", "湖滨", "运河", "良渚", "龙井", "天目", "富春")
KINDS = ("小学", "中学", "医院", "科技有限公司", "物流有限公司", "餐饮店", "社区卫生服务中心",
         "超市", "制造有限公司", "街道办事处")
SOURCES = ("华为运动健康", "小米运动健康", "微信运动", "Apple 健康")

BIRTH_DAYS = 80 * 365  # birth dates spread over 80 years
_FIRST_BIRTH = date(1940, 1, 1)
#: Distinct id numbers: one per (birth date, 3-digit sequence).
ID_SPACE = BIRTH_DAYS * 1000
_ID_STRIDE = 7_777_777  # coprime with ID_SPACE: n -> n * stride mod ID_SPACE is one-to-one
_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CODES = "10X98765432"
MAX_CIGARETTES, MAX_ALCOHOL_ML = 10, 400
KINDS_PER_DAY = 4  # what day_of gives


@dataclass(frozen=True)
class Resident:
    """What a person gives at enrolment, as typed."""

    name: str
    id_number: str
    phone: str


def resident(n: int) -> Resident:
    """Return person ``n``'s identity (``0 <= n < ID_SPACE``; ``ValueError`` otherwise)."""
    if not 0 <= n < ID_SPACE:
        raise ValueError(f"person numbers run from 0 to {ID_SPACE - 1}")
    k = n * _ID_STRIDE % ID_SPACE
    born = _FIRST_BIRTH + timedelta(days=k // 1000)
    region = DISTRICTS[n % len(DISTRICTS)][0]
    body = f"{region}{born:%Y%m%d}{k % 1000:03d}"
    check = _CHECK_CODES[sum(int(d) * w for d, w in zip(body, _CHECK_WEIGHTS, strict=True)) % 11]
    mix = (n * 2_654_435_761) & 0xFFFF_FFFF
    given = GIVEN[mix % len(GIVEN)] + (GIVEN[(mix >> 8) % len(GIVEN)] if mix & 0x30000 else "")
    name = SURNAMES[(mix >> 20) % len(SURNAMES)] + given
    digits = f"{(n * 48_271 + 12_345_678) % 100_000_000:08d}"
    prefix = MOBILE_PREFIXES[(mix >> 12) % len(MOBILE_PREFIXES)]
    return Resident(name, body + check, f"{prefix} {digits[:4]} {digits[4:]}")


def organisation_name(i: int) -> str:
    """Return the ``i``-th organisation's name (different for every ``i``)."""
    i, district = divmod(i, len(DISTRICTS))
    i, brand = divmod(i, len(BRANDS))
    branch, kind = divmod(i, len(KINDS))
    suffix = f"第{branch + 1}分部" if branch else ""
    return f"{DISTRICTS[district][1]}{BRANDS[brand]}{KINDS[kind]}{suffix}"


class Habits(NamedTuple):
    """A person's usual day, from their id."""

    steps: int
    sleep: float
    drinks: bool
    smokes: int  # cigarettes on a usual day (0: does not smoke)
    source: str
    evening: int  # seconds before midnight their device syncs
    delay: int  # seconds between observing and recording


def habits(person_id: str) -> Habits:
    """Return the habits that ``person_id``'s week varies around."""
    h = int.from_bytes(hashlib.blake2b(person_id.encode(), digest_size=8).digest(), "big")
    return Habits(steps=3000 + h % 13_000, sleep=5.5 + (h >> 16) % 30 / 10,
                  drinks=(h >> 24) % 10 < 3, smokes=(h >> 28) % 8 + 3 if (h >> 32) % 4 == 0 else 0,
                  source=SOURCES[(h >> 36) % len(SOURCES)], evening=3600 + (h >> 40) % 18_000,
                  delay=60 + (h >> 48) % 1800)


def day_of(person: Habits, days_ago: int, now: int, rng: random.Random
           ) -> list[tuple[str, int | float, int]]:
    """The four ``(kind, value, observed_at)`` of one day, ``days_ago`` (0..6) before ``now``:
    observed in the evening before it, at most 6 days 6 hours ago (all inside the policy's
    7-day window for the next 18 hours)."""
    at = now - days_ago * DAY - person.evening
    steps = max(0, round(person.steps * rng.gauss(1.0, 0.25)))
    sleep = min(11.0, max(3.0, round(person.sleep + rng.gauss(0.0, 0.6), 1)))
    alcohol = float(rng.choice((0, 0, 50, 100, 150, 250, MAX_ALCOHOL_ML))) if person.drinks \
        else 0.0
    cigarettes = min(MAX_CIGARETTES, max(0, round(rng.gauss(person.smokes, 2)))) \
        if person.smokes else 0
    return [("steps", steps, at), ("sleep_hours", sleep, at), ("alcohol_ml", alcohol, at),
            ("cigarettes", cigarettes, at)]
