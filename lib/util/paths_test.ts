import assert from "node:assert/strict";
import { findOnPath, isFile } from "./paths.ts";

Deno.test("isFile / findOnPath: files only, the first PATH entry that holds the name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "paths_test_" });
  try {
    await Deno.mkdir(`${dir}/a/tool`, { recursive: true });
    await Deno.mkdir(`${dir}/b`);
    await Deno.mkdir(`${dir}/c`);
    await Deno.writeTextFile(`${dir}/b/tool`, "");
    await Deno.writeTextFile(`${dir}/c/tool`, "");
    assert.equal(isFile(`${dir}/b/tool`), true);
    assert.equal(isFile(`${dir}/a/tool`), false, "a directory is not a file");
    assert.equal(isFile(`${dir}/missing`), false);
    // a/tool is a directory, so b's comes first; empty entries are skipped.
    assert.equal(findOnPath("tool", `::${dir}/a:${dir}/b:${dir}/c`), `${dir}/b/tool`);
    assert.equal(findOnPath("none", `${dir}/a:${dir}/b`), undefined);
    assert.equal(findOnPath("tool", ""), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
