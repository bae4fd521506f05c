"""python-hello: a plugmill plugin written in Python, built into a WebAssembly component
with componentize-py.

Export conventions (componentize-py 0.25, bindings module `wit_world`):

- the world's own exports (`greet`, `report`, `cleanup`) are methods of a class named
  `WitWorld` in this module, subclassing `wit_world.WitWorld`;
- an exported interface is a class named after the interface in UpperCamelCase:
  `plugins-manager:common/plugin-common` -> class `PluginCommon`, subclassing
  `wit_world.exports.PluginCommon`;
- imported interfaces are modules under `wit_world.imports` (`authorization`, and `types`
  for the records `Manifest` / `PluginRoute`, dataclasses with snake_case fields);
- `result<T, E>`: returning a value is `ok`; raising `componentize_py_types.Err(value)`
  (the same class as `wit_world.Err`) is `err(value)`. Any other exception traps the call.
  An imported function returning `result<_, string>` returns `None` on `ok` and *raises*
  `Err` on `err`; the message is `e.value`.

`wit_world` and `componentize_py_types` exist only at build time (componentize-py generates
them); run `componentize-py -d wit -w python-hello bindings <dir>` to see them.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import authorization
from wit_world.imports.types import Manifest, PluginRoute

NAME = "python-hello"

# The permission the `report` route requires of its caller.
REPORT_PERMISSION = "reports:read"


class PluginCommon(exports.PluginCommon):
    def get_manifest(self) -> Manifest:
        return Manifest(
            plugin_name=NAME,
            hooks=["greet"],
            routes=[
                PluginRoute(path=f"/{NAME}/report", handler="report", process_as_task=False)
            ],
            tasks=["cleanup"],
        )


def _parse(what: str, data: str):
    """`data` as JSON, or raises the `err` of a `result<_, string>`."""
    try:
        return json.loads(data)
    except ValueError as e:
        raise Err(f"{what}: the data is not JSON: {e}")


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str) -> str:
        """Hook: `greet(name: string) -> string`."""
        return f"Hello, {name}!"

    def report(self, data: str) -> str:
        """Route `/python-hello/report`: only for callers whose claims grant `reports:read`.

        plugmill's server puts the caller's verified claims into the data as `data["claims"]`:
        a string holding the claims' JSON (a JSON object is accepted as well). The tenant to
        report on is `data["tenant_id"]` if given. plugmill's authorization denies every
        caller when no tenant is requested and super-admins are not allowed, so a report
        without `tenant_id` is always refused there.
        """
        value = _parse("report", data)
        if not isinstance(value, dict):
            raise Err("report: the data must be a JSON object")
        claims = value.get("claims")
        if isinstance(claims, dict):
            claims = json.dumps(claims)
        if not isinstance(claims, str) or not claims:
            raise Err("report: the request carries no claims")
        tenant = value.get("tenant_id")
        if tenant is not None and not isinstance(tenant, str):
            raise Err("report: `tenant_id` must be a string")
        try:
            authorization.authorize(claims, False, tenant, [REPORT_PERMISSION])
        except Err as e:
            raise Err(f"report: {e.value}")
        try:
            subject = json.loads(claims).get("sub")
        except (ValueError, AttributeError):
            subject = None
        return json.dumps(
            {
                "plugin": NAME,
                "report": "ready",
                "subject": subject,
                "tenant_id": tenant,
                "fields": sorted(k for k in value if k != "claims"),
            }
        )

    def cleanup(self, data: str) -> str:
        """Task `cleanup`: data is `{"items": [...]}`; counts the items and the stale ones."""
        value = _parse("cleanup", data)
        items = value.get("items", []) if isinstance(value, dict) else None
        if not isinstance(items, list):
            raise Err("cleanup: `items` must be an array")
        removed = sum(1 for item in items if isinstance(item, dict) and item.get("stale") is True)
        return json.dumps(
            {"task": "cleanup", "items": len(items), "removed": removed, "kept": len(items) - removed}
        )
