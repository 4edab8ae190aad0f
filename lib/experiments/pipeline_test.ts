import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { apAllPoint } from "../metrics/mod.ts";
import { readCheckpointIndex } from "../train/checkpoint.ts";
import { loadConfig } from "../runs/config.ts";
import { readJson } from "../runs/files.ts";
import { Progress } from "../train/progress.ts";
import { loadRunData, runExperiment, withResumedSession } from "./pipeline.ts";
import { evaluateRunOn } from "./run_evaluation.ts";
import { loadRunModel } from "../inference/mod.ts";
import { generatedAt, smallDetector } from "./testing.ts";
import { createRunDir, missingRunFiles, type Provenance } from "../runs/run.ts";

// Importing lib/backend registers wasm at a higher priority; these tests run on the plain cpu backend.
await tf.setBackend("cpu");

Deno.test("runExperiment end to end on generated data: trains, is killed, resumes, evaluates, writes the contract", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const resolve = {
      env: null,
      defaultRoot: `${tmp}/none`,
      generatedRoot: `${tmp}/gen`,
      generatedCounts: { seed: 7, train: 16, val: 6 },
    };
    const config = await loadConfig(new URL("../../experiments/test/tiny.json", import.meta.url).pathname);
    assert.equal(config.name, "tiny");
    const quiet = new Progress({ tty: false, write: () => {} });
    const before = tf.memory().numTensors;
    const first = await runExperiment(config, {
      resultsDir: `${tmp}/results`,
      runId: "tiny-1",
      resolve,
      buildDetector: smallDetector,
      progress: quiet,
      stopAfterEpoch: 1,
    });
    assert.equal(first.runDir, `${tmp}/results/test/e2e/tiny-1`);
    assert.equal(first.train.finished, false);
    assert.equal(first.evaluation, null);
    assert.equal((await readCheckpointIndex(`${first.runDir}/checkpoints`)).last, "epoch-0001");

    // While a session runs, each checkpoint has already brought the recorded duration up to date (a killed session
    // keeps what it trained): when epoch 3 is logged, epoch 2 of this session is already counted in provenance.json.
    const firstSeconds = (await readJson<Provenance>(`${first.runDir}/provenance.json`)).durationSeconds!;
    assert.ok(firstSeconds > 0);
    const seenMidRun: (number | null)[] = [];
    const second = await runExperiment(config, {
      resume: first.runDir,
      resolve,
      buildDetector: smallDetector,
      onLog: (line) => {
        if (/^epoch 3\/4: loss/.test(line)) {
          seenMidRun.push(JSON.parse(Deno.readTextFileSync(`${first.runDir}/provenance.json`)).durationSeconds);
        }
      },
      progress: quiet,
    });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(second.train.finished, true);
    assert.equal(second.train.epochs, 4);
    assert.deepEqual(await missingRunFiles(first.runDir), []);

    // The loss went down: per-epoch means of the CSV log (16 images, 4 steps per epoch).
    const rows = second.train.rows;
    assert.deepEqual(rows.map((r) => r.epoch), [1, 2, 3, 4]);
    assert.deepEqual(rows.map((r) => r.steps), [4, 4, 4, 4]);
    assert.ok(rows[3].loss! < rows[0].loss!, `loss ${rows.map((r) => r.loss).join(" -> ")}`);
    assert.ok(rows[1].val_map !== null && rows[0].val_map === null); // evaluated every 2 epochs

    const metrics = await readJson<Record<string, unknown>>(`${first.runDir}/metrics.json`);
    assert.equal((metrics.data as { label: string }).label, "generated");
    assert.match(String(metrics.note), /GENERATED/);
    assert.equal(typeof metrics.map, "number");
    const speed = metrics.speed as { images: number; evalImgPerSec: number; forwardImgPerSec: number };
    assert.equal(speed.images, 6);
    assert.ok(speed.evalImgPerSec > 0 && speed.forwardImgPerSec >= speed.evalImgPerSec);
    const pr = await readJson<
      { class: string; recall: number[]; precision: number[]; data: string; rankedDetections: number }
    >(
      `${first.runDir}/pr_face.json`,
    );
    // Stored at its corner ranks: shorter than the ranking, the same AP as metrics.json.
    assert.ok(pr.recall.length <= pr.rankedDetections);
    const faceAp = (metrics.voc as Record<string, { ap: number }>).face.ap;
    assert.ok(Math.abs(apAllPoint(pr.recall, pr.precision) - faceAp) < 1e-9);
    assert.equal(pr.class, "face");
    assert.equal(pr.data, "generated");
    const prov = await readJson<Provenance>(`${first.runDir}/provenance.json`);
    assert.equal(prov.data.label, "generated");
    assert.equal(prov.seed, 3);
    assert.equal(prov.backend.name, "cpu");
    assert.equal(seenMidRun.length, 1);
    assert.ok(seenMidRun[0]! > firstSeconds, `mid-run duration ${seenMidRun[0]} after ${firstSeconds}`);
    assert.equal(prov.resumed.length, 1);
    // The resumed session's code and backend are recorded beside its start time.
    assert.equal(prov.resumedSessions?.length, 1);
    assert.equal(prov.resumedSessions![0].start, prov.resumed[0]);
    assert.equal(prov.resumedSessions![0].backend, "cpu");
    assert.equal(prov.resumedSessions![0].commit, prov.commit);
    assert.ok(prov.end !== null && prov.trainImgPerSec! > 0 && prov.evalImgPerSec! > 0);
    assert.match(prov.data.checksum, /^[0-9a-f]{64}$/);
    const log = await Deno.readTextFile(`${first.runDir}/train.log`);
    assert.match(log, /resumed from/);

    // Re-evaluating the kept weights gives the same mAP.
    const again = await evaluateRunOn(first.runDir, { resolve, buildDetector: smallDetector });
    assert.equal(again.own, true, "the run's own data and split");
    assert.ok(Math.abs(again.evaluation.result.map! - (metrics.map as number)) < 1e-9);
    const loaded = await loadRunModel(first.runDir, { buildDetector: smallDetector });
    assert.equal(loaded.config.name, "tiny");
    loaded.model.dispose();
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadRunData: bad samples are left out and listed, by file and problem, in the run's provenance", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const { generateDataset } = await import("../data/generate.ts");
    await generateDataset(`${tmp}/d`, { seed: 5, train: 5, val: 2 });
    const names = [...Deno.readDirSync(`${tmp}/d/train`)].map((e) => e.name).filter((n) => n.endsWith(".jpg")).sort();
    await Deno.writeTextFile(`${tmp}/d/train/${names[0]}`, "not an image");
    const xml = `${tmp}/d/train/${names[1].replace(/\.jpg$/, ".xml")}`;
    await Deno.writeTextFile(xml, (await Deno.readTextFile(xml)).replace(/<name>[^<]*<\/name>/, "<name>helmet</name>"));
    const config = await loadConfig(new URL("../../experiments/test/tiny.json", import.meta.url).pathname);
    const data = await loadRunData(config, { data: `${tmp}/d`, checksum: false });
    assert.equal(data.train.length, 3);
    const listed = data.provenance.problems!.join("\n");
    assert.match(listed, new RegExp(`${names[0]}: .*`));
    assert.match(listed, new RegExp(`${names[1].replace(/\.jpg$/, ".xml")}: .*helmet`));
    assert.equal(data.problems.filter((p) => p.severity === "error").length, 2);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("withResumedSession: appends to resumed and resumedSessions, starting the list for older provenance", () => {
  const old = { resumed: ["t0"], end: "t1", commit: "a" } as unknown as Provenance;
  const s1 = { start: "t2", commit: "b", dirty: false, backend: "native" };
  const p1 = withResumedSession(old, s1);
  assert.deepEqual(p1.resumed, ["t0", "t2"]);
  assert.deepEqual(p1.resumedSessions, [s1]);
  assert.equal(p1.end, null);
  assert.equal(p1.commit, "a", "the start commit stays");
  const p2 = withResumedSession(p1, { ...s1, start: "t3", commit: null, dirty: null });
  assert.deepEqual(p2.resumedSessions!.map((s) => s.start), ["t2", "t3"]);
  assert.deepEqual(old.resumed, ["t0"], "the input is not changed");
});

Deno.test("runExperiment: refuses a run folder that a live process is training, before loading anything", async () => {
  const root = await Deno.makeTempDir();
  try {
    const dir = await createRunDir(await loadConfig("experiments/test/tiny.json"), {
      resultsDir: root,
      runId: "locked",
    });
    const live = {
      pid: Deno.pid,
      hostname: Deno.hostname(),
      start: "2026-01-01T00:00:00Z",
      command: "deno task train",
    };
    await Deno.writeTextFile(`${dir}/run.lock`, JSON.stringify(live));
    await assert.rejects(
      () => runExperiment(null, { resume: dir, progress: new Progress({ tty: false, write: () => {} }) }),
      /another process is training this run \(pid \d+ .*deno task train\)/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/run.lock`), JSON.stringify(live), "the holder's lock stays");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Runs git in `cwd`, failing the test on a non-zero exit. */
async function git(cwd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@t", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

Deno.test("a run committed mid-way with its checkpoint and resumed in another clone, at another path and with the data elsewhere, ends with the weights of an uninterrupted run", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    const counts = { seed: 7, train: 16, val: 6 };
    const resolveAt = (root: string) => generatedAt(root, counts);
    const config = await loadConfig(new URL("../../experiments/test/tiny.json", import.meta.url).pathname);
    const quiet = new Progress({ tty: false, write: () => {} });
    const whole = await runExperiment(config, {
      resultsDir: `${tmp}/whole/results`,
      runId: "tiny-w",
      resolve: resolveAt(`${tmp}/gen-a`),
      buildDetector: smallDetector,
      progress: quiet,
    });
    // Clone A trains two epochs and commits the unfinished run folder with the repository's own .gitignore.
    const a = `${tmp}/clone-a`;
    await Deno.mkdir(a);
    await git(a, "init", "-q");
    await Deno.copyFile(new URL("../../.gitignore", import.meta.url).pathname, `${a}/.gitignore`);
    // Under results/ablation/, as the paper-schedule runs are (results/test/ is git-ignored for test runs).
    const part = await runExperiment({ ...config, experiment: "ablation" }, {
      resultsDir: `${a}/results`,
      runId: "tiny-p",
      resolve: resolveAt(`${tmp}/gen-a`),
      buildDetector: smallDetector,
      progress: quiet,
      stopAfterEpoch: 2,
    });
    await git(a, "add", "-A");
    await git(a, "commit", "-q", "-m", "unfinished run");
    const tracked = await git(a, "ls-files", "results");
    assert.match(tracked, /checkpoints\/epoch-0002\/model\.weights\.bin/, "the latest checkpoint is committed");
    assert.match(tracked, /checkpoints\/epoch-0002\/optimizer\.weights\.bin/);
    assert.doesNotMatch(tracked, /run\.lock/);
    // Clone B: another path, the data generated again at another path (same files, same checksum).
    await git(tmp, "clone", "-q", a, `${tmp}/clone-b`);
    const rel = part.runDir.slice(a.length + 1);
    const resumed = await runExperiment(null, {
      resume: `${tmp}/clone-b/${rel}`,
      resolve: resolveAt(`${tmp}/gen-b`),
      buildDetector: smallDetector,
      progress: quiet,
    });
    assert.equal(resumed.train.finished, true);
    const w1 = await Deno.readFile(`${whole.runDir}/model/model.weights.bin`);
    const w2 = await Deno.readFile(`${resumed.runDir}/model/model.weights.bin`);
    assert.equal(w1.length, w2.length);
    assert.ok(w1.every((v, i) => v === w2[i]), "weights differ from the uninterrupted run's");
    const m1 = await readJson<{ map: number }>(`${whole.runDir}/metrics.json`);
    const m2 = await readJson<{ map: number }>(`${resumed.runDir}/metrics.json`);
    assert.equal(m2.map, m1.map);
    // A finished run keeps only its final weights.
    assert.equal(await Deno.stat(`${resumed.runDir}/checkpoints`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
