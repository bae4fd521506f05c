// js-hello: a plugmill plugin written in JavaScript (an ES module), built into a
// WebAssembly component with `jco componentize` (ComponentizeJS / StarlingMonkey).
//
// Export conventions (ComponentizeJS):
// - an exported WIT *interface* is an exported object named after the interface in
//   lowerCamelCase: `plugins-manager:common/plugin-common` -> `export const pluginCommon`;
// - a top-level exported WIT *function* is a plain exported function, also lowerCamelCase
//   (`greet`, `echo`, `cleanup`);
// - WIT records are plain objects with lowerCamelCase fields (`pluginName`, `processAsTask`);
// - `result<string, string>`: returning a value is `ok(value)`; *throwing* is `err(...)`.
//   The err payload is the thrown value itself, unless it is an object with a `payload`
//   property (e.g. a `ComponentError`), in which case it is `thrown.payload`. For an err
//   of type `string`, throw a string: `throw "bad input"`. (Throwing an `Error` object
//   would hand a non-string to the string lowering and trap the call.)

const NAME = "js-hello";

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

/** Hook: `greet(name: string) -> string`. */
export function greet(name) {
  return `Hello, ${name}!`;
}

/** Parses `data` as JSON, or throws the `err` string of a `result<_, string>`. */
function parseData(what, data) {
  try {
    return JSON.parse(data);
  } catch (e) {
    throw `${what}: the data is not JSON: ${e.message}`;
  }
}

/** Route `/js-hello/echo`: answers with the data it got plus a few computed facts. */
export function echo(data) {
  const value = parseData("echo", data);
  return JSON.stringify({
    plugin: NAME,
    echo: value,
    inputBytes: new TextEncoder().encode(data).length,
    type: Array.isArray(value) ? "array" : value === null ? "null" : typeof value,
  });
}

/**
 * Task `cleanup`: data is `{"items": [...]}`; counts the items and how many of them are
 * "stale" (`{"stale": true}`). An `items` that is not an array is refused with an error.
 */
export function cleanup(data) {
  const value = parseData("cleanup", data);
  const items = value?.items ?? [];
  if (!Array.isArray(items)) {
    throw "cleanup: `items` must be an array";
  }
  const removed = items.filter((item) => item && item.stale === true).length;
  return JSON.stringify({ task: "cleanup", items: items.length, removed, kept: items.length - removed });
}
