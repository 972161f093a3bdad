"""Activities of the MemFlow tests (a module, as users pass theirs)."""

from __future__ import annotations

from collections import Counter

#: calls per activity name (tests assert exactly-once execution)
CALLS: Counter[str] = Counter()
STOCK = {"item-123": 10, "item-9": 0}


async def check_inventory(item_id: str) -> int:
    CALLS["check_inventory"] += 1
    return STOCK.get(item_id, 0)


async def reserve_item(item_id: str, qty: int) -> str:
    CALLS["reserve_item"] += 1
    return f"reserved {qty} of {item_id}"


async def notify_backorder(item_id: str) -> None:
    CALLS["notify_backorder"] += 1


def greet(name: str) -> str:  # sync: runs in a thread
    CALLS["greet"] += 1
    return f"hello {name}"
