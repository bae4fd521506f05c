"""The {{name}} plugin as a WebAssembly component (componentize-py).

`plugmill build` generates the bindings module `wit_world` from wit/world.wit and builds this
module. The world's exports are methods of `WitWorld`; the exported interface
`plugin-common` is the class `PluginCommon`. For `result<string, string>`, return the ok value
and raise `Err("message")` for err. The logic lives in handlers.py.
"""

import wit_world
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import Manifest, PluginRoute

import handlers


class PluginCommon(exports.PluginCommon):
    def get_manifest(self) -> Manifest:
        return Manifest(
            plugin_name=handlers.NAME,
            hooks=["greet"],
            routes=[PluginRoute(path=f"/{handlers.NAME}/echo", handler="echo", process_as_task=False)],
            tasks=["cleanup"],
        )


def _result(function, data: str) -> str:
    try:
        return function(data)
    except ValueError as e:
        raise Err(str(e))


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str) -> str:
        return handlers.greet(name)

    def echo(self, data: str) -> str:
        return _result(handlers.echo, data)

    def cleanup(self, data: str) -> str:
        return _result(handlers.cleanup, data)
