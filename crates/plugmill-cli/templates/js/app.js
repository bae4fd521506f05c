// The {{name}} plugin: a hook, a route and a task, in JavaScript.
//
// `plugmill build` turns this module into a WebAssembly component (jco componentize).
// Exports follow the WIT in wit/world.wit, in lowerCamelCase: the interface
// `plugin-common` is the object `pluginCommon`, each world function a plain exported
// function. For `result<string, string>`, return the ok value and `throw "message"` for err.

const NAME = "{{name}}";

export const pluginCommon = {
  getManifest() {
    return {
      pluginName: NAME,
      hooks: ["greet"],
      routes: [{ path: `/${NAME}/echo`, handler: "echo", processAsTask: false }],
      tasks: ["cleanup"],
    };
  },
};

/** Hook `greet`: `plugmill call hook greet --args '["you"]'`. */
export function greet(name) {
  return `Hello, ${name}!`;
}

function parse(what, data) {
  try {
    return JSON.parse(data);
  } catch (e) {
    throw `${what}: the data is not JSON: ${e.message}`;
  }
}

/** Route `/{{name}}/echo`: the request's JSON back. */
export function echo(data) {
  return JSON.stringify({ plugin: NAME, echo: parse("echo", data) });
}

/** Task `cleanup`: `{"items": [...]}` in, how many items were stale out. */
export function cleanup(data) {
  const items = parse("cleanup", data)?.items ?? [];
  if (!Array.isArray(items)) {
    throw "cleanup: `items` must be an array";
  }
  const removed = items.filter((item) => item?.stale === true).length;
  return JSON.stringify({ items: items.length, removed, kept: items.length - removed });
}
