import assert from "node:assert/strict";
import { installHint, missingPrerequisites, onPath, PREREQUISITES } from "./build_native.ts";

Deno.test("build:native: a bare machine is told every package to install", () => {
  const missing = missingPrerequisites(() => false);
  assert.equal(missing.length, PREREQUISITES.length);
  const hint = installHint(missing);
  assert.match(hint, /sudo apt-get install -y g\+\+ make python3 npm libnode-dev libdnnl-dev\n/);
  assert.match(hint, /missing C\+\+ compiler, make, /);
  assert.match(hint, /wasm backend/);
});

Deno.test("build:native: only what is absent is listed, each apt package once", () => {
  const missing = missingPrerequisites((p) => p !== "g++" && p !== "make", [
    ...PREREQUISITES,
    { what: "second compiler probe", probe: "g++", apt: "g++" },
  ]);
  assert.deepEqual(missing.map((m) => m.what), ["C++ compiler", "make", "second compiler probe"]);
  assert.match(installHint(missing), /install -y g\+\+ make\n/);
});

Deno.test("build:native: onPath finds executables by PATH entries and absolute files", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/tool`, "");
  assert.equal(onPath("tool", `/nonexistent:${dir}`), true);
  assert.equal(onPath("tool", "/nonexistent"), false);
  assert.equal(onPath(`${dir}/tool`, ""), true);
  Deno.removeSync(dir, { recursive: true });
});
