/**
 * Table ⇄ Arrow IPC (file format) for the store. Numeric columns become Float64 (NaN ↔ null), text
 * columns Utf8. The bytes are a pure function of the table (names, order, values), so equal tables
 * give equal object hashes. apache-arrow is heavy: callers import this module lazily.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as ArrowNS from 'apache-arrow';
import type { Data, Field as ArrowField, Float64 as ArrowFloat64, Int32 as ArrowInt32, Utf8 as ArrowUtf8 } from 'apache-arrow';
import { IntColumn, isNumeric, makeTable, type Column, type Table } from './table.js';

/**
 * apache-arrow as the package's own single-file build (Arrow.esnext.min.js, the same version as its
 * ES modules): it loads in ~16 ms, against ~90 ms for the ~200 modules of its ESM entry — paid by
 * every process and worker thread that reads or writes a table.
 */
const requireHere = createRequire(import.meta.url);
const A = requireHere(path.join(path.dirname(requireHere.resolve('apache-arrow')), 'Arrow.esnext.min.js')) as typeof ArrowNS;
const { Field, Float64, Int32, makeData, RecordBatch, Schema, Struct, Table: ArrowTable, tableFromIPC, tableToIPC, Type, Utf8 } = A;
type Float64 = ArrowFloat64;
type Int32 = ArrowInt32;
type Utf8 = ArrowUtf8;
type Field = ArrowField;

const enc = new TextEncoder();

function numData(c: Float64Array): Data<Float64> {
  const n = c.length;
  const values = new Float64Array(n);
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = c[i]!;
    if (Number.isNaN(v)) nulls++;
    else {
      values[i] = v;
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  }
  return makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: nulls ? bitmap : null, data: values });
}

/** Int32 data of an IntColumn, or null if a value is not a whole number within int32 (then it is stored as Float64). */
function intData(c: Float64Array): Data<Int32> | null {
  const n = c.length;
  const values = new Int32Array(n);
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = c[i]!;
    if (Number.isNaN(v)) nulls++;
    else {
      if (!Number.isInteger(v) || v > 2147483647 || v < -2147483648) return null;
      values[i] = v;
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
  }
  return makeData({ type: new Int32(), length: n, nullCount: nulls, nullBitmap: nulls ? bitmap : null, data: values });
}

function strData(c: (string | null)[]): Data<Utf8> {
  const n = c.length;
  const offsets = new Int32Array(n + 1);
  const bitmap = new Uint8Array((n + 7) >> 3);
  const parts: Uint8Array[] = [];
  let total = 0;
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    const v = c[i];
    if (v === null || v === undefined) nulls++;
    else {
      const b = enc.encode(v);
      parts.push(b);
      total += b.length;
      bitmap[i >> 3]! |= 1 << (i & 7);
    }
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return makeData({ type: new Utf8(), length: n, nullCount: nulls, nullBitmap: nulls ? bitmap : null, valueOffsets: offsets, data });
}

/** Arrow IPC file bytes of a table. */
export function tableToArrow(t: Table): Uint8Array {
  // a malformed table would be stored truncated or padded without a word: refuse it
  if (!t || !Array.isArray(t.names) || !t.columns || typeof t.columns !== 'object') throw new Error('a table needs names (string[]), columns and nrows (engine/table.ts makeTable builds one)');
  if (!Number.isInteger(t.nrows) || t.nrows < 0) throw new Error(`table nrows must be a non-negative integer, got ${String(t.nrows)}`);
  const seen = new Set<string>();
  for (const name of t.names) {
    if (seen.has(name)) throw new Error(`table column "${name}" is listed twice in names`);
    seen.add(name);
  }
  const fields: Field[] = [];
  const children: Data[] = [];
  for (const name of t.names) {
    const c = t.columns[name] as unknown;
    if (c === undefined) throw new Error(`table column "${name}" is listed in names but missing`);
    const len = (c as { length?: unknown }).length;
    if (len !== t.nrows) throw new Error(`table column "${name}" has ${String(len)} values but the table has nrows = ${t.nrows}: every column must have one value per row`);
    if (isNumeric(c as Float64Array) || (ArrayBuffer.isView(c) && !(c instanceof DataView))) {
      // other typed arrays (Int32Array, …) are stored as Float64 too
      const f = isNumeric(c as Float64Array) ? (c as Float64Array) : Float64Array.from(c as unknown as ArrayLike<number>);
      const ints = c instanceof IntColumn ? intData(f) : null;
      if (ints) {
        fields.push(new Field(name, new Int32(), true));
        children.push(ints);
      } else {
        fields.push(new Field(name, new Float64(), true));
        children.push(numData(f));
      }
    } else {
      if (!Array.isArray(c)) throw new Error(`table column "${name}" must be a Float64Array or an array of strings/nulls`);
      const bad = c.findIndex((v) => v !== null && typeof v !== 'string');
      if (bad >= 0) {
        throw new Error(
          `table column "${name}" row ${bad + 1} holds ${typeof c[bad]} ${JSON.stringify(c[bad])}: text columns hold strings or null; numeric columns must be Float64Array (engine/table.ts)`,
        );
      }
      fields.push(new Field(name, new Utf8(), true));
      children.push(strData(c as (string | null)[]));
    }
  }
  const schema = new Schema(fields);
  const struct = makeData({ type: new Struct(fields), length: t.nrows, nullCount: 0, children });
  const batch = new RecordBatch(schema, struct);
  return tableToIPC(new ArrowTable(schema, [batch]), 'file');
}

/**
 * Rows from which a Float64 column is decoded as a view of the IPC bytes rather than copied (1 MiB).
 * Smaller columns are copied: their bytes may sit in Node's shared Buffer pool (a file under 4 KiB),
 * which a worker must never transfer with its outputs.
 */
const VIEW_MIN_ROWS = 1 << 17;

/**
 * A table from Arrow IPC bytes (file or stream format). Float and 64-bit integer columns →
 * Float64Array, 8/16/32-bit integer columns → IntColumn (null → NaN); other types → strings. A
 * large Float64 column without nulls is a view of `bytes` (which must not change afterwards).
 */
export function arrowToTable(bytes: Uint8Array): Table {
  const at = tableFromIPC(bytes);
  const cols: Record<string, Column> = {};
  const names: string[] = [];
  const n = at.numRows;
  at.schema.fields.forEach((f, j) => {
    const vec = at.getChildAt(j)!;
    names.push(f.name);
    const tid = f.type.typeId;
    const only = vec.data.length === 1 ? vec.data[0]! : null;
    if (tid === Type.Float && only && only.values instanceof Float64Array && only.nullCount === 0 && only.length >= VIEW_MIN_ROWS) {
      // a large column of Float64 without nulls in one chunk: a view of the IPC bytes (apache-arrow's
      // values are a view when aligned), not a copy of what is most of the file
      cols[f.name] = only.values.subarray(only.offset, only.offset + only.length);
    } else if (tid === Type.Float || tid === Type.Int) {
      const out = tid === Type.Int && (f.type as { bitWidth: number }).bitWidth <= 32 ? new IntColumn(n) : new Float64Array(n);
      let row = 0;
      for (const d of vec.data) {
        const vals = d.values as ArrayLike<number | bigint>;
        const bm = d.nullBitmap;
        const len = d.length, o = d.offset;
        if (!bm || bm.length === 0 || d.nullCount === 0) {
          if (vals instanceof Float64Array || vals instanceof Int32Array || vals instanceof Float32Array || vals instanceof Int16Array || vals instanceof Int8Array || vals instanceof Uint8Array || vals instanceof Uint16Array || vals instanceof Uint32Array) {
            out.set(vals.subarray(o, o + len), row);
            row += len;
          } else for (let i = 0; i < len; i++) out[row++] = Number(vals[o + i]!);
        } else {
          for (let i = 0; i < len; i++) {
            const k = o + i;
            out[row++] = ((bm[k >> 3]! >> (k & 7)) & 1) === 1 ? Number(vals[k]!) : NaN;
          }
        }
      }
      cols[f.name] = out;
    } else if (tid === Type.Utf8) {
      cols[f.name] = utf8Column(vec.data as unknown as Utf8Chunk[], n);
    } else {
      const out: (string | null)[] = new Array(n);
      for (let i = 0; i < n; i++) {
        const v = vec.get(i);
        out[i] = v === null || v === undefined ? null : String(v);
      }
      cols[f.name] = out;
    }
  });
  return makeTable(cols, names);
}

interface Utf8Chunk {
  length: number;
  offset: number;
  nullCount: number;
  nullBitmap: Uint8Array | null | undefined;
  valueOffsets: Int32Array;
  values: Uint8Array;
}

const dec = new TextDecoder();

/**
 * A Utf8 column's strings straight from its offsets and bytes (Vector.get decodes one value at a
 * time through a generic visitor, several times slower): an all-ASCII chunk is decoded once and
 * sliced; otherwise each value is decoded, reusing the previous row's string when the bytes are
 * the same (panels repeat a unit's names on every row).
 */
function utf8Column(chunks: Utf8Chunk[], n: number): (string | null)[] {
  const out: (string | null)[] = new Array(n);
  let row = 0;
  for (const d of chunks) {
    const off = d.valueOffsets, bytes = d.values, bm = d.nullBitmap;
    const lo = off[d.offset]!, hi = off[d.offset + d.length]!;
    let ascii = true;
    for (let b = lo; b < hi; b++) if (bytes[b]! >= 0x80) { ascii = false; break; }
    const whole = ascii ? dec.decode(bytes.subarray(lo, hi)) : '';
    let prevA = -1, prevB = -1, prev = '';
    for (let i = 0; i < d.length; i++) {
      const k = d.offset + i;
      if (bm && bm.length > 0 && d.nullCount > 0 && ((bm[k >> 3]! >> (k & 7)) & 1) === 0) {
        out[row++] = null;
        continue;
      }
      const a = off[k]!, b = off[k + 1]!;
      if (ascii) {
        out[row++] = whole.slice(a - lo, b - lo);
        continue;
      }
      let same = b - a === prevB - prevA;
      for (let j = 0; same && j < b - a; j++) same = bytes[a + j] === bytes[prevA + j];
      if (!same) prev = dec.decode(bytes.subarray(a, b));
      prevA = a;
      prevB = b;
      out[row++] = prev;
    }
  }
  return out;
}
