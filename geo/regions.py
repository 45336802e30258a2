"""The 34 provincial-level divisions, keyed by their GB/T 2260 code."""

from __future__ import annotations

#: English names of the 34 provincial-level divisions, keyed by 6-character GB/T 2260 code.
REGION_NAMES: dict[str, str] = {
    "110000": "Beijing",
    "120000": "Tianjin",
    "130000": "Hebei",
    "140000": "Shanxi",
    "150000": "Inner Mongolia",
    "210000": "Liaoning",
    "220000": "Jilin",
    "230000": "Heilongjiang",
    "310000": "Shanghai",
    "320000": "Jiangsu",
    "330000": "Zhejiang",
    "340000": "Anhui",
    "350000": "Fujian",
    "360000": "Jiangxi",
    "370000": "Shandong",
    "410000": "Henan",
    "420000": "Hubei",
    "430000": "Hunan",
    "440000": "Guangdong",
    "450000": "Guangxi",
    "460000": "Hainan",
    "500000": "Chongqing",
    "510000": "Sichuan",
    "520000": "Guizhou",
    "530000": "Yunnan",
    "540000": "Tibet",
    "610000": "Shaanxi",
    "620000": "Gansu",
    "630000": "Qinghai",
    "640000": "Ningxia",
    "650000": "Xinjiang",
    "710000": "Taiwan",
    "810000": "Hong Kong",
    "820000": "Macau",
}

#: All 34 codes, sorted.
REGIONS: tuple[str, ...] = tuple(sorted(REGION_NAMES))

#: Taiwan, Hong Kong and Macau; the remaining 31 divisions form the mainland.
NON_MAINLAND: frozenset[str] = frozenset({"710000", "810000", "820000"})

#: The 31 mainland provincial-level divisions (Hainan included).
MAINLAND_REGIONS: tuple[str, ...] = tuple(c for c in REGIONS if c not in NON_MAINLAND)
