import assert from "node:assert/strict";
import { EPOCH_COLUMNS, EpochLog, type EpochLogRow, formatCsvRow, parseEpochCsv, readEpochLog } from "./train_log.ts";

const row = (epoch: number, map: number | null): EpochLogRow => ({
  epoch,
  steps: 10,
  lr: 0.001,
  loss: 4.123456789,
  loss_cls: 2.5,
  loss_loc: 1.623456789,
  train_img_s: 12.34,
  seconds: 30,
  val_map: map,
  val_ap_face_mask: map,
  val_ap_face: map,
});

Deno.test("formatCsvRow: six significant digits, empty cell for not evaluated", () => {
  assert.equal(formatCsvRow(row(3, null)), "3,10,0.001,4.12346,2.5,1.62346,12.34,30,,,");
  assert.equal(formatCsvRow(row(4, 0.5)), "4,10,0.001,4.12346,2.5,1.62346,12.34,30,0.5,0.5,0.5");
});

Deno.test("EpochLog: appends, reloads and truncates past a resumed epoch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = new EpochLog(`${dir}/train_log.csv`);
    await log.load();
    for (let e = 1; e <= 3; e++) await log.append(row(e, e === 2 ? 0.25 : null));
    const text = await Deno.readTextFile(`${dir}/train_log.csv`);
    assert.equal(
      text.split("\n")[0],
      "epoch,steps,lr,loss,loss_cls,loss_loc,train_img_s,seconds,val_map,val_ap_face_mask,val_ap_face",
    );
    assert.equal(text.trim().split("\n").length, 4);
    const again = new EpochLog(`${dir}/train_log.csv`);
    await again.load({ upToEpoch: 2 });
    assert.deepEqual(again.rows.map((r) => r.epoch), [1, 2]);
    assert.equal(again.rows[1].val_map, 0.25);
    assert.equal(again.rows[0].val_map, null);
    assert.equal((await Deno.readTextFile(`${dir}/train_log.csv`)).trim().split("\n").length, 3);
    assert.throws(() => parseEpochCsv("epoch,x\n1,2", { source: "f.csv" }), /f\.csv: line 1: unexpected header/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train_log.csv: a committed log is written back byte for byte; quoted cells and CRLF read", async () => {
  const path = new URL("../../results/ablation/branches-4-20261129-122037/train_log.csv", import.meta.url).pathname;
  const text = await Deno.readTextFile(path);
  const rows = await readEpochLog(path);
  assert.equal(rows.length, 100);
  assert.equal([EPOCH_COLUMNS.join(","), ...rows.map(formatCsvRow)].join("\n") + "\n", text);
  const crlf = `${EPOCH_COLUMNS.join(",")}\r\n"1",10,0.001,4,2,2,12,30,,,\r\n`;
  assert.deepEqual(parseEpochCsv(crlf).map((r) => [r.epoch, r.loss, r.val_map]), [[1, 4, null]]);
  assert.throws(
    () => parseEpochCsv(`${EPOCH_COLUMNS.join(",")}\n\n1,2\n`, { source: "g.csv" }),
    /g\.csv: line 3: 2 cells/,
  );
  assert.throws(
    () => parseEpochCsv(`${EPOCH_COLUMNS.join(",")}\n"1,2\n`, { source: "g.csv" }),
    /g\.csv: line 2: unterminated/,
  );
  assert.deepEqual(await readEpochLog(`${path}.missing`), []);
});
