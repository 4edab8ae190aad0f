import assert from "node:assert/strict";
import { readVegaScripts } from "./vendor.ts";

Deno.test("readVegaScripts returns the UMD builds that define the vega and vegaLite globals", async () => {
  const s = await readVegaScripts();
  assert.match(s.vega.slice(0, 400), /\.vega=\{\}/);
  assert.match(s.vegaLite.slice(0, 400), /\.vegaLite=\{\}/);
  assert.ok(s.vega.length > 100_000);
});

Deno.test("readVegaScripts names the missing file", async () => {
  await assert.rejects(
    readVegaScripts({ nodeModules: "/nonexistent/nm" }),
    /\/nonexistent\/nm\/vega\/build\/vega\.min\.js/,
  );
});
