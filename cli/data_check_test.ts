import assert from "node:assert/strict";
import sharp from "sharp";
import { main } from "./data_check.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l) } };
}

const XML = `<annotation><size><width>40</width><height>30</height><depth>3</depth></size>
<object><name>face</name><difficult>0</difficult><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>20</xmax><ymax>20</ymax>
</bndbox></object></annotation>`;

Deno.test("data:check exits 0 on clean data and 1 listing every problem with its file", async () => {
  const root = await Deno.makeTempDir({ prefix: "cli_check_" });
  try {
    for (const split of ["train", "val"]) {
      await Deno.mkdir(`${root}/${split}`);
      await sharp({ create: { width: 40, height: 30, channels: 3, background: "#777" } }).jpeg()
        .toFile(`${root}/${split}/a.jpg`);
      await Deno.writeTextFile(`${root}/${split}/a.xml`, XML);
    }
    const ok = capture();
    assert.equal(await main(["--data", root], ok.io), 0);
    assert.match(ok.out.at(-3)!, /^train: 1 usable images, 1 boxes, 0 errors, 0 warnings \(\d+\.\d s\)$/);
    assert.match(ok.out.at(-2)!, /^val: 1 usable images, 1 boxes, 0 errors, 0 warnings/);
    assert.equal(ok.out.at(-1), "0 errors, 0 warnings");

    await Deno.writeTextFile(`${root}/val/b.xml`, "<annotation>");
    await Deno.writeTextFile(`${root}/val/c.jpg`, "text");
    await Deno.mkdir(`${root}/test`);
    const bad = capture();
    assert.equal(await main(["--data", root], bad.io), 1);
    assert.ok(
      bad.out.includes(`error ${root}/test: empty split folder: no images and no XML files`),
      bad.out.join("\n"),
    );
    assert.ok(bad.out.some((l) => l.startsWith(`error ${root}/val/b.xml: XML has no image beside it`)));
    assert.ok(bad.out.includes(`error ${root}/val/c.jpg: image has no XML annotation beside it (c.xml)`));
    assert.equal(bad.out.at(-1), "3 errors, 0 warnings");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("data:check: --help exits 0; a missing --data folder exits 1 naming it", async () => {
  const h = capture();
  assert.equal(await main(["--help"], h.io), 0);
  assert.match(h.out[0], /^Usage: deno task data:check/);
  const m = capture();
  assert.equal(await main(["--data", "/nonexistent/faces"], m.io), 1);
  assert.match(m.err[0], /\/nonexistent\/faces: --data is not an existing folder/);
  const u = capture();
  assert.equal(await main(["--bogus"], u.io), 2);
});
