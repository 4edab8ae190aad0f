import assert from "node:assert/strict";
import { csvCell, csvLine, formatCsv, parseCsv } from "./csv.ts";

Deno.test("csvCell: quotes only cells with a comma, quote or line break; null is empty", () => {
  assert.equal(csvCell("plain"), "plain");
  assert.equal(csvCell(0.125), "0.125");
  assert.equal(csvCell(null), "");
  assert.equal(csvCell(undefined), "");
  assert.equal(csvCell("a,b"), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell("two\nlines"), '"two\nlines"');
  assert.equal(csvCell("cr\r"), '"cr\r"');
  assert.equal(csvLine(["x", 1, null, "y,z"]), 'x,1,,"y,z"');
  assert.equal(formatCsv([["a", "b"], [1, 2]]), "a,b\n1,2\n");
  assert.equal(formatCsv([]), "");
});

Deno.test("parseCsv: reads back what formatCsv writes, with the line each record starts on", () => {
  const records = [["name", "note"], ["a,b", 'say "hi"'], ["multi\nline", ""], ["", "last"]];
  const text = formatCsv(records);
  const parsed = parseCsv(text);
  assert.deepEqual(parsed.map((r) => r.cells), records);
  assert.deepEqual(parsed.map((r) => r.line), [1, 2, 3, 5]);
});

Deno.test("parseCsv: CRLF, blank lines, no final newline, an empty quoted cell", () => {
  assert.deepEqual(parseCsv("a,b\r\n1,2\r\n").map((r) => r.cells), [["a", "b"], ["1", "2"]]);
  assert.deepEqual(parseCsv("a\n\n\nb").map((r) => [r.line, r.cells]), [[1, ["a"]], [4, ["b"]]]);
  assert.deepEqual(parseCsv('""\n').map((r) => r.cells), [[""]]);
  assert.deepEqual(parseCsv("1,,3\n").map((r) => r.cells), [["1", "", "3"]]);
  assert.deepEqual(parseCsv(""), []);
});

Deno.test("parseCsv: malformed quoting names the source and the line", () => {
  assert.throws(
    () => parseCsv('a\n"open,b\nc', { source: "f.csv" }),
    /^Error: f\.csv: line 2: unterminated quoted cell$/,
  );
  assert.throws(() => parseCsv('a\n"x"y,1', { source: "f.csv" }), /f\.csv: line 2: text after a closing quote/);
});
