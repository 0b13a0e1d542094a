#!/usr/bin/env python3
"""Writes the demo scenario's captures: one classic pcap per customer with
DNS queries (and answers for benign names) over Ethernet/IPv4/UDP.

Deterministic: fixed times, addresses and DNS ids, so re-running it rewrites
byte-identical files. Standard library only.

    python3 Fixtures/demo/make_demo.py      # from the repository root

The scenario (what each customer's resolver asked, and why it does or does
not count) is in Fixtures/README.md; the test suite asserts the headline from
that design, not from Geneva's output.
"""
import os
import struct
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))


def ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()


# customer id -> (client IP, resolver IP, [(time, query name, benign?)])
# benign names get an answer packet too; indicator names get only the query
# (the walking skeleton sights query names).
SCENARIO = {
    "acme": ("10.1.0.23", "10.1.0.1", [
        ("2026-06-21T09:14:00", "www.example.com", True),
        ("2026-06-21T09:14:05", "www.update-alpha.org", False),     # APT-Alpha (RU): counts
        ("2026-07-02T16:40:11", "update-alpha.org", False),         # APT-Alpha again
    ]),
    "globex": ("10.2.0.40", "10.2.0.1", [
        ("2026-07-15T08:01:00", "intranet.globex.example", True),
        ("2026-07-15T08:02:30", "mail.alpha-cdn.net", False),       # subdomain of an APT-Alpha domain: counts
    ]),
    "initech": ("10.3.0.7", "10.3.0.1", [
        ("2026-08-03T13:00:00", "beta-sync.org", False),            # APT-Beta (CN): counts
        ("2026-08-03T13:00:01", "www.wikipedia.org", True),
    ]),
    "hooli": ("10.4.0.99", "10.4.0.1", [
        ("2026-09-10T22:15:42", "CDN.Beta-Sync.ORG.", False),       # case and trailing dot ignored: counts
    ]),
    "umbrella": ("10.5.0.12", "10.5.0.1", [
        ("2026-07-20T11:11:11", "pay.crime-pay.biz", False),        # criminal actor, no country: never counts
        ("2026-07-20T11:12:00", "unc-drop.net", False),             # actor with unknown country: never counts
    ]),
    "wayne": ("10.6.0.5", "10.6.0.1", [
        ("2026-06-30T10:00:00", "old-beta.com", False),             # APT-Beta, but its validity ended 2026-03-01
        ("2026-06-30T10:00:10", "notalpha-cdn.net", False),         # not on a label boundary: no match
        ("2026-06-30T10:00:20", "alpha-cdn.net.example.org", False),  # indicator inside a longer name: no match
        ("2026-06-30T10:00:30", "news.bbc.co.uk", True),
    ]),
    "stark": ("10.7.0.77", "10.7.0.1", [
        ("2026-10-01T07:30:00", "www.example.com", True),
        ("2026-10-01T07:30:05", "cdn.jsdelivr.net", True),
    ]),
}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip(text):
    return bytes(int(p) for p in text.split("."))


def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def dns_query(qid, name):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(name) + struct.pack("!HH", 1, 1)


def dns_answer(qid, name, address):
    question = dns_name(name) + struct.pack("!HH", 1, 1)
    answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 300, 4) + ip(address)
    return struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + answer


def frame(src, dst, sport, dport, payload, ident):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident, 0x4000, 64, 17, 0, ip(src), ip(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    ether = bytes.fromhex("020000000002") + bytes.fromhex("020000000001") + b"\x08\x00"
    return ether + header + udp


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, data in packets:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(data), len(data)))
            f.write(data)


def main():
    for n, (customer, (client, resolver, queries)) in enumerate(sorted(SCENARIO.items())):
        packets = []
        for i, (when, name, benign) in enumerate(queries):
            t = ts(when)
            qid = 0x1000 + 0x100 * n + i
            sport = 40000 + 17 * i + n
            packets.append((t, frame(client, resolver, sport, 53, dns_query(qid, name), qid)))
            if benign:
                packets.append((t + 0.012, frame(resolver, client, 53, sport, dns_answer(qid, name, "192.0.2.80"), qid + 1)))
        write_pcap(os.path.join(HERE, "captures", customer + ".pcap"), packets)


if __name__ == "__main__":
    main()
