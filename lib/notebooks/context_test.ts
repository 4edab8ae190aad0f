import assert from "node:assert/strict";
import { notebookContext } from "./context.ts";

Deno.test("smoke profile generates a small data set of the requested size in a temporary folder", async () => {
  const ctx = await notebookContext({ env: { NOTEBOOK_PROFILE: "smoke" }, smoke: { train: 3, val: 2 }, seed: 1 });
  assert.equal(ctx.profile, "smoke");
  assert.equal(ctx.data.generated, true);
  const count = async (split: string) => {
    let n = 0;
    for await (const e of Deno.readDir(`${ctx.data.root}/${split}`)) if (e.name.endsWith(".xml")) n++;
    return n;
  };
  assert.equal(await count("train"), 3);
  assert.equal(await count("val"), 2);
  assert.match(ctx.banner, /^profile smoke: GENERATED/);
  assert.ok(ctx.resultsDir.endsWith("/results"));
  await Deno.remove(ctx.data.root, { recursive: true });
});

Deno.test("full profile (the default) takes the data from FACEMASK_DATA", async () => {
  const dir = await Deno.makeTempDir();
  const ctx = await notebookContext({ env: { FACEMASK_DATA: dir } });
  assert.equal(ctx.profile, "full");
  assert.equal(ctx.data.root, dir);
  assert.equal(ctx.data.generated, false);
  const name = dir.split("/").pop()!;
  assert.equal(ctx.banner, `profile full: data folder ${name} (from FACEMASK_DATA).`);
  assert.ok(!ctx.banner.includes(dir), "no absolute path in the banner");
  await Deno.remove(dir);
});

Deno.test("an unknown profile is an error", async () => {
  await assert.rejects(notebookContext({ env: { NOTEBOOK_PROFILE: "tiny" } }), /NOTEBOOK_PROFILE must be/);
});
