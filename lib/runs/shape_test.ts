import assert from "node:assert/strict";
import { checkShape, RunFileError, shape as S } from "./shape.ts";

const SHAPE = S.object({
  name: S.string(),
  count: S.integer(0),
  score: S.nullable(S.number()),
  kind: S.oneOf("a", "b"),
  tags: S.optional(S.array(S.string()), []),
  note: S.optional(S.nullable(S.string())),
  per: S.record(S.object({ ap: S.nullable(S.number()) })),
});

Deno.test("checkShape: a good value comes back with fallbacks filled in and unknown keys kept", () => {
  const input = { name: "x", count: 3, score: null, kind: "b", per: { face: { ap: 0.5, extra: 1 } }, more: true };
  const out = checkShape<Record<string, unknown>>(SHAPE, input, "f.json");
  assert.deepEqual(out, { ...input, tags: [] });
  assert.equal("note" in out, false, "an optional field without a fallback stays absent");
  assert.equal("tags" in input, false, "the input is not changed");
});

Deno.test("checkShape: errors name the file, the dotted field and what was expected", () => {
  const good = { name: "x", count: 3, score: 1, kind: "a", per: {} };
  const bad = (over: Record<string, unknown>) => () => checkShape(SHAPE, { ...good, ...over }, "runs/r/f.json");
  assert.throws(
    bad({ count: 1.5 }),
    /^RunFileError: runs\/r\/f\.json: field "count": expected an integer >= 0, got number 1\.5$/,
  );
  assert.throws(bad({ count: -1 }), /field "count": expected an integer >= 0/);
  assert.throws(bad({ score: "0.5" }), /field "score": expected a number or null, got the string "0\.5"/);
  assert.throws(bad({ kind: "c" }), /field "kind": expected one of "a", "b"/);
  assert.throws(bad({ tags: ["ok", 2] }), /field "tags\[1\]": expected a string, got number 2/);
  assert.throws(
    bad({ per: { face: { ap: true } } }),
    /field "per\.face\.ap": expected a number or null, got boolean true/,
  );
  assert.throws(bad({ name: undefined }), /field "name": missing \(expected a string\)/);
  assert.throws(
    () => checkShape(SHAPE, [1], "f.json"),
    /^RunFileError: f\.json: file: expected an object, got an array$/,
  );
  try {
    checkShape(S.number(), Infinity, "g.json", "speed");
    assert.fail("Infinity is not a finite number");
  } catch (e) {
    assert.ok(e instanceof RunFileError);
    assert.deepEqual([e.file, e.field], ["g.json", "speed"]);
  }
});
