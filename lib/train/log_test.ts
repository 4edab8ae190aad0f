import assert from "node:assert/strict";
import {
  EpochLog,
  type EpochLogRow,
  formatCsvRow,
  formatProgress,
  parseEpochCsv,
  Progress,
  progressBar,
} from "./log.ts";

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

Deno.test("formatProgress and progressBar", () => {
  const f = {
    epoch: 3,
    epochs: 100,
    step: 12,
    steps: 96,
    loss: 4.21301,
    cls: 2.1,
    loc: 2.11301,
    lr: 0.01,
    imgPerSec: 12.34,
  };
  assert.equal(formatProgress(f), "epoch 3/100 step 12/96 loss 4.2130 (cls 2.1000 loc 2.1130) lr 1.00e-2 12.3 img/s");
  assert.equal(progressBar(5, 10, 10), "[#####.....]");
  assert.equal(progressBar(0, 0, 4), "[....]");
});

Deno.test("Progress: plain mode prints by interval and always at the epoch's last step", () => {
  const out: string[] = [];
  let t = 0;
  const p = new Progress({ tty: false, write: (s) => out.push(s), intervalMs: 1000, now: () => t });
  const f = { epoch: 1, epochs: 2, step: 1, steps: 3, loss: 1, cls: 0.5, loc: 0.5, lr: 0.01, imgPerSec: 1 };
  p.update(f); // first one prints
  t = 500;
  p.update({ ...f, step: 2 }); // too soon
  t = 600;
  p.update({ ...f, step: 3 }); // last step of the epoch
  assert.equal(out.length, 2);
  assert.ok(out[1].startsWith("epoch 1/2 step 3/3"));
  assert.ok(out.every((s) => s.endsWith("\n") && !s.includes("\r")));
  const tty: string[] = [];
  const q = new Progress({ tty: true, write: (s) => tty.push(s) });
  q.update(f);
  q.line("done");
  assert.ok(tty[0].startsWith("\r"));
  assert.deepEqual(tty.slice(1), ["\n", "done\n"]);
});
