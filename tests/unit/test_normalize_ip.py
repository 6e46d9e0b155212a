"""client_ip_address verdicts: the same as Python's ipaddress, without its cost for common IPv4."""

from __future__ import annotations

import ipaddress
import random

import pytest

from capigate.normalize.ip import SPECIAL_FIRST_OCTETS, IpVerdict, classify


def _reference(value: str) -> IpVerdict:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return IpVerdict.INVALID
    return IpVerdict.PUBLIC if address.is_global else IpVerdict.NOT_PUBLIC


def _special_networks() -> list[ipaddress.IPv4Network]:
    constants = ipaddress.IPv4Address._constants  # type: ignore[attr-defined]
    found: list[ipaddress.IPv4Network] = []
    for name in dir(constants):
        value = getattr(constants, name)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, ipaddress.IPv4Network):
                found.append(item)
            elif isinstance(item, ipaddress.IPv4Address):
                found.append(ipaddress.IPv4Network(item))
    return found


def test_every_special_network_of_ipaddress_starts_in_a_special_octet() -> None:
    """The shortcut octets cover every network ipaddress treats specially, in this Python."""
    networks = _special_networks()
    assert networks, "ipaddress keeps its special networks elsewhere: update this test"
    for network in networks:
        first = int(network.network_address) >> 24
        last = int(network.broadcast_address) >> 24
        assert set(range(first, last + 1)) <= SPECIAL_FIRST_OCTETS, network


@pytest.mark.parametrize(
    "value",
    ["84.54.70.5", "8.8.8.8", "10.0.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "0.0.0.0",
     "169.254.1.1", "172.16.0.1", "172.32.0.1", "192.0.2.1", "198.18.0.1", "203.0.113.9",
     "224.0.0.1", "240.0.0.1", "255.255.255.255", "2001:db8::1", "2a02:4780:1::1", "::1",
     "fe80::1", "1.2.3", "01.2.3.4", "1.2.3.4 ", "256.1.1.1", "", "localhost", "::ffff:10.0.0.1"],
)  # fmt: skip
def test_verdicts_match_ipaddress(value: str) -> None:
    """Public, not public and invalid exactly as ipaddress says, boundaries included."""
    assert classify(value) is _reference(value)


def test_random_ipv4_addresses_match_ipaddress() -> None:
    """A sample across the whole IPv4 space gets ipaddress's verdict."""
    rng = random.Random(7)
    for _ in range(5000):
        value = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        assert classify(value) is _reference(value), value
