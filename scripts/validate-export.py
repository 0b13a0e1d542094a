#!/usr/bin/env python3
"""Checks `geneva export` output with independent tools (used by the tests).

  validate-export.py stix FILE   # OASIS stix2-validator, strict: no errors, no warnings
  validate-export.py misp FILE   # PyMISP loads every entry as a MISPSighting

Prints one JSON object: {"valid": bool, "objects": N, "sightings": N, "messages": [...]}.
Needs `pip install stix2-validator pymisp` (scripts/test.sh installs them).
"""
import json
import sys


def stix(path):
    from stix2validator import ValidationOptions, validate_file
    result = validate_file(path, ValidationOptions(strict=True, strict_types=False))
    messages = []
    for obj in result.object_results:
        messages += [f"error {obj.object_id}: {e}" for e in obj.errors]
        messages += [f"warning {obj.object_id}: {w}" for w in obj.warnings]
    with open(path) as f:
        bundle = json.load(f)
    objects = bundle.get("objects", [])
    ids = {o["id"] for o in objects}
    sightings = [o for o in objects if o["type"] == "sighting"]
    for s in sightings:
        for ref in [s["sighting_of_ref"], *s.get("where_sighted_refs", [])]:
            if ref not in ids:
                messages.append(f"dangling reference {ref} in {s['id']}")
    return {"valid": result.is_valid and not messages, "objects": len(objects), "sightings": len(sightings), "messages": messages}


def misp(path):
    from pymisp import MISPSighting
    with open(path) as f:
        doc = json.load(f)
    messages = []
    count = 0
    for entry in doc.get("response", []):
        s = MISPSighting()
        s.from_dict(**entry)
        d = s.to_dict()
        if not d.get("value") or d.get("type") != "0" or not str(d.get("timestamp", "")).isdigit():
            messages.append(f"incomplete sighting {d}")
        count += 1
    return {"valid": not messages, "objects": count, "sightings": count, "messages": messages}


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    print(json.dumps({"stix": stix, "misp": misp}[kind](path)))
