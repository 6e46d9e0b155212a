"""``client_ip_address``: one verdict per address string: not an address, public, or not public.

``ipaddress`` takes microseconds to parse an address and to walk its tables of special-purpose
networks for ``is_global``; a user's events repeat the address, so each verdict is remembered
(bounded). An IPv4 address whose first octet holds no special-purpose block (IANA registry:
0, 10, 100.64/10, 127, 169.254/16, 172.16/12, 192.x blocks, 198.18/15, 198.51.100/24,
203.0.113/24, multicast and 240/4 upwards) is public without that walk; every other address is
left to ``ipaddress``, so the verdicts are exactly its own (a test checks the octet list against
its tables). IP addresses are sent to Meta in the clear, so keeping them in memory adds nothing.
"""

from __future__ import annotations

import ipaddress
import re
from enum import Enum
from functools import lru_cache

MAX_CACHED_ADDRESSES = 1 << 16

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")  # what ipaddress accepts as IPv4
SPECIAL_FIRST_OCTETS = frozenset({0, 10, 100, 127, 169, 172, 192, 198, 203, *range(224, 256)})


class IpVerdict(Enum):
    """What ``classify`` says about a ``client_ip_address`` string."""

    INVALID = "invalid"
    PUBLIC = "public"
    NOT_PUBLIC = "not_public"  # private, loopback, link-local, reserved...


@lru_cache(maxsize=MAX_CACHED_ADDRESSES)
def classify(value: str) -> IpVerdict:
    """Whether ``value`` is an IPv4 or IPv6 address, and if so whether it is public."""
    if IPV4.fullmatch(value) and int(value.partition(".")[0]) not in SPECIAL_FIRST_OCTETS:
        return IpVerdict.PUBLIC
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return IpVerdict.INVALID
    return IpVerdict.PUBLIC if address.is_global else IpVerdict.NOT_PUBLIC
