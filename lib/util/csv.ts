/**
 * CSV as RFC 4180 describes it: a cell holding a comma, a double quote or a line break is quoted (its quotes
 * doubled), every other cell is written as is. Lines end in `\n` rather than RFC 4180's `\r\n`, so that the files in
 * run folders stay byte for byte what they have always been; the parser accepts both.
 * @module
 */

/** One cell; `null` and `undefined` are written as an empty cell. */
export type CsvValue = string | number | boolean | null | undefined;

/** One cell as CSV text: quoted when it holds `,`, `"`, `\r` or `\n`. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One record as a CSV line, without its line break. */
export function csvLine(cells: readonly CsvValue[]): string {
  return cells.map(csvCell).join(",");
}

/** Records as CSV text, one line each, every line (the last one too) ending in `\n`. */
export function formatCsv(records: readonly (readonly CsvValue[])[]): string {
  return records.map((r) => csvLine(r) + "\n").join("");
}

/** One parsed record and the line it starts on (1-based), for error messages. */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/**
 * Parses CSV text into records (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks; `\r\n` and
 * `\n` both end a record). Blank lines are skipped. An unterminated quote, or text right after a closing quote, is an
 * error naming `source` and the line.
 */
export function parseCsv(text: string, options: { source?: string } = {}): CsvRecord[] {
  const src = options.source ?? "csv";
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = "";
  let line = 1;
  let start = 1;
  let i = 0;
  // A record of one empty quoted cell ("") is a record, not a blank line.
  let quoted = false;
  const endRecord = () => {
    cells.push(cell);
    if (quoted || cells.length > 1 || cells[0] !== "") records.push({ line: start, cells });
    cells = [];
    cell = "";
    quoted = false;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && cell === "") {
      const opened = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new Error(`${src}: line ${opened}: unterminated quoted cell`);
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (q === "\n") line++;
        cell += q;
        i++;
      }
      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new Error(`${src}: line ${line}: text after a closing quote`);
      }
      quoted = true;
      continue;
    }
    if (c === ",") {
      cells.push(cell);
      cell = "";
      i++;
    } else if (c === "\n" || c === "\r") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      line++;
      start = line;
    } else {
      cell += c;
      i++;
    }
  }
  if (cell !== "" || cells.length > 0 || quoted) endRecord();
  return records;
}
