#!/usr/bin/env python3
"""Generate a realistic Segment export (NDJSON, one event per line) for demos, tests and benchmarks.

    python bench/gen_events.py N [SEED] > events.ndjson

About 800 bytes per event; 70% track, 15% page, 12% identify, 1.5% alias, 1.5% group, with the fields
real exports carry (messageId, anonymousId, userId, the four timestamps, context, properties/traits)."""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import uuid
from collections.abc import Iterator
from typing import Any

EVENT_NAMES = ["Order Completed", "Product Viewed", "Signed Up", "Checkout Started", "Product Added",
               "Experiment Viewed", "Page Viewed Deep"]
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def events(n: int, seed: int = 7, start: dt.datetime = START) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    users = [f"user-{i}" for i in range(20000)]
    for i in range(n):
        r = rnd.random()
        typ = ("track" if r < 0.70 else "page" if r < 0.85 else "identify" if r < 0.97
               else "alias" if r < 0.985 else "group")
        anon = str(uuid.UUID(int=rnd.getrandbits(128)))
        uid = rnd.choice(users) if rnd.random() < 0.8 else None
        t = start + dt.timedelta(seconds=i * 3 + rnd.random())
        sent = t + dt.timedelta(milliseconds=rnd.randrange(5, 900))
        ev: dict[str, Any] = {
            "anonymousId": anon,
            "channel": "client",
            "context": {
                "ip": f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.{rnd.randrange(256)}",
                "library": {"name": "analytics.js", "version": "next-1.70.0"},
                "locale": "en-US",
                "page": {"path": "/checkout", "referrer": "https://www.example.com/", "title": "Checkout",
                         "url": "https://shop.example.com/checkout"},
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                             "Chrome/120.0 Safari/537.36",
            },
            "integrations": {},
            "messageId": f"ajs-next-{uuid.UUID(int=rnd.getrandbits(128)).hex}",
            "originalTimestamp": _iso(t),
            "receivedAt": _iso(sent + dt.timedelta(milliseconds=40)),
            "sentAt": _iso(sent),
            "timestamp": _iso(t),
            "type": typ,
            "userId": uid,
            "version": 2,
        }
        if typ == "track":
            ev["event"] = rnd.choice(EVENT_NAMES)
            props: dict[str, Any] = {"revenue": round(rnd.random() * 200, 2), "currency": "USD",
                                     "product_id": f"sku-{rnd.randrange(5000)}", "quantity": rnd.randrange(1, 5),
                                     "coupon": None if rnd.random() < 0.7 else "SAVE10"}
            if rnd.random() < 0.3:
                del props["revenue"]
                props["value"] = rnd.randrange(100)
            ev["properties"] = props
        elif typ == "page":
            ev["name"] = "Checkout"
            ev["properties"] = {"path": "/checkout", "url": "https://shop.example.com/checkout"}
        elif typ == "identify":
            ev["traits"] = {"email": f"{uid or 'anon'}@example.com", "plan": rnd.choice(["free", "pro", "enterprise"]),
                            "createdAt": _iso(t)}
        elif typ == "alias":
            ev["previousId"] = anon
            ev["userId"] = uid or rnd.choice(users)
        else:
            ev["groupId"] = f"org-{rnd.randrange(100)}"
            ev["traits"] = {"name": "Acme", "employees": rnd.randrange(5, 500)}
        yield ev


def main(argv: list[str]) -> None:
    n = int(argv[1])
    seed = int(argv[2]) if len(argv) > 2 else 7
    out = sys.stdout
    for ev in events(n, seed):
        out.write(json.dumps(ev, separators=(",", ":"), ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv)
