// `node --test`: the plugin's functions, run directly by Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { greet, echo, cleanup, pluginCommon } from "./app.js";

test("greet says hello", () => assert.equal(greet("plugmill"), "Hello, plugmill!"));

test("echo returns the data and refuses what is not JSON", () => {
  assert.deepEqual(JSON.parse(echo('{"a": 1}')).echo, { a: 1 });
  assert.throws(() => echo("not json"), (e) => typeof e === "string" && e.includes("not JSON"));
});

test("cleanup counts stale items", () => {
  assert.deepEqual(JSON.parse(cleanup('{"items": [{"stale": true}, {}]}')), { items: 2, removed: 1, kept: 1 });
});

test("the manifest names every export", () => {
  const manifest = pluginCommon.getManifest();
  assert.deepEqual(manifest.hooks, ["greet"]);
  assert.deepEqual(manifest.tasks, ["cleanup"]);
});
