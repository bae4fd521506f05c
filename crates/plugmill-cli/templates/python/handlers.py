"""The {{name}} plugin's logic, plain Python: `python3 -m unittest` runs its tests."""

import json

NAME = "{{name}}"


def greet(name: str) -> str:
    return f"Hello, {name}!"


def _parse(what: str, data: str):
    try:
        return json.loads(data)
    except ValueError as e:
        raise ValueError(f"{what}: the data is not JSON: {e}") from None


def echo(data: str) -> str:
    return json.dumps({"plugin": NAME, "echo": _parse("echo", data)})


def cleanup(data: str) -> str:
    value = _parse("cleanup", data)
    items = value.get("items", []) if isinstance(value, dict) else None
    if not isinstance(items, list):
        raise ValueError("cleanup: `items` must be an array")
    removed = sum(1 for item in items if isinstance(item, dict) and item.get("stale") is True)
    return json.dumps({"items": len(items), "removed": removed, "kept": len(items) - removed})
