#!/usr/bin/env python3
"""Generates the intel-import benchmark inputs: N indicators as a STIX 2.1
bundle (indicators, `indicates` relationships to 10 campaigns, campaigns
`attributed-to` 5 intrusion sets that `originates-from` locations) and the
same indicators as SPEC §5 CSV.

    python3 Benchmarks/intel/gen_intel.py OUTDIR [N]      # N defaults to 1,000,000

Deterministic. Kinds: 50% domain, 30% ipv4, 10% sha256, 5% url, 5% email.
"""
import hashlib
import json
import os
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
os.makedirs(out, exist_ok=True)

actors = [("Bench Bear", "RU"), ("Bench Panda", "CN"), ("Bench Kitten", "IR"), ("Bench Chollima", "KP"), ("Bench Crime", None)]
campaigns = [("Bench Campaign %d" % i, actors[i % len(actors)][0]) for i in range(10)]


def value(i):
    k = i % 20
    if k < 10:
        return "domain", "host%d.bench-%d.example" % (i, i % 9973), "domain-name:value"
    if k < 16:
        return "ipv4", "%d.%d.%d.%d" % (10 + (i >> 24) % 200, (i >> 16) & 255, (i >> 8) & 255, i & 255), "ipv4-addr:value"
    if k < 18:
        return "sha256", hashlib.sha256(str(i).encode()).hexdigest(), "file:hashes.'SHA-256'"
    if k < 19:
        return "url", "http://bench-%d.example/p/%d" % (i % 7919, i), "url:value"
    return "email", "user%d@bench-%d.example" % (i, i % 101), "email-addr:value"


def uid(prefix, i):
    return "%s--%08x-0000-4000-8000-%012x" % (prefix, i >> 16, i)


with open(os.path.join(out, "bench.stix.json"), "w") as f, open(os.path.join(out, "bench.csv"), "w") as c:
    c.write("kind,value,actor,actor_country,campaign,valid_from,confidence\n")
    f.write('{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": [\n')
    for a, (name, country) in enumerate(actors):
        f.write(json.dumps({"type": "intrusion-set", "spec_version": "2.1", "id": uid("intrusion-set", a), "name": name,
                            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}) + ",\n")
        if country:
            f.write(json.dumps({"type": "location", "spec_version": "2.1", "id": uid("location", a), "country": country,
                                "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}) + ",\n")
            f.write(json.dumps({"type": "relationship", "spec_version": "2.1", "id": uid("relationship", 10_000_000 + a),
                                "relationship_type": "originates-from", "source_ref": uid("intrusion-set", a),
                                "target_ref": uid("location", a), "created": "2026-01-01T00:00:00Z",
                                "modified": "2026-01-01T00:00:00Z"}) + ",\n")
    for ci, (name, actor) in enumerate(campaigns):
        a = [x[0] for x in actors].index(actor)
        f.write(json.dumps({"type": "campaign", "spec_version": "2.1", "id": uid("campaign", ci), "name": name,
                            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z"}) + ",\n")
        f.write(json.dumps({"type": "relationship", "spec_version": "2.1", "id": uid("relationship", 20_000_000 + ci),
                            "relationship_type": "attributed-to", "source_ref": uid("campaign", ci),
                            "target_ref": uid("intrusion-set", a), "created": "2026-01-01T00:00:00Z",
                            "modified": "2026-01-01T00:00:00Z"}) + ",\n")
    for i in range(n):
        kind, v, path = value(i)
        ci = i % len(campaigns)
        pattern = "[%s = '%s']" % (path, v)
        f.write(json.dumps({"type": "indicator", "spec_version": "2.1", "id": uid("indicator", i),
                            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z",
                            "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
                            "confidence": 70}) + ",\n")
        sep = ",\n" if i + 1 < n else "\n"
        f.write(json.dumps({"type": "relationship", "spec_version": "2.1", "id": uid("relationship", i),
                            "relationship_type": "indicates", "source_ref": uid("indicator", i),
                            "target_ref": uid("campaign", ci), "created": "2026-01-01T00:00:00Z",
                            "modified": "2026-01-01T00:00:00Z"}) + sep)
        name, actor = campaigns[ci]
        country = dict(actors)[actor] or ""
        c.write("%s,%s,%s,%s,%s,2026-01-01,70\n" % (kind, v, actor, country, name))
    f.write("]}\n")
