/**
 * Stata `.dta` reader, written from StataCorp's "dta" file format description (Stata `help dta`;
 * the per-release documents dta_113 … dta_119): formats 113, 114, 115 (Stata 8–13, binary header)
 * and 117, 118, 119 (Stata 13–18, tagged sections `<stata_dta><header>…`).
 *
 * What it returns per variable: its name, storage type, display format, variable label, the name of
 * its value label set, and the values: numbers (byte/int/long/float/double; Stata's missing values
 * `.`, `.a` … `.z` → NaN, the letter kept in `extendedMissing`) or strings (str1–str2045, strL; empty
 * string = Stata's missing string, returned as ''). Value label sets (`label define`) are returned as
 * maps value → text. Text is decoded as UTF-8 for 118/119 and Windows-1252 (Latin-1) before.
 *
 * Numeric missing values (dta spec, "Representation of numbers"): a value above the type's largest
 * nonmissing value is missing: byte > 100, int > 32740, long > 2147483620, float > 2^127 · (2 − 2^-23)
 * bits ≥ 0x7f000000, double ≥ 2^1023; `.` is the first code above that, `.a` the next, … `.z` the 27th.
 *
 * @example
 * const dta = readDta(readFileSync('auto.dta'));
 * dta.variables.map((v) => v.name); // ['make', 'price', …]
 * dta.valueLabels.origin;          // Map { 0 => 'Domestic', 1 => 'Foreign' }
 */

export interface DtaVariable {
  name: string;
  /** 'byte' | 'int' | 'long' | 'float' | 'double' | 'strN' | 'strL' */
  type: string;
  format: string;
  label: string;
  /** Name of the value label set attached (`label values`), '' if none. */
  valueLabel: string;
  /** Numbers (missing → NaN) or strings. */
  values: Float64Array | string[];
  /** For numeric variables: row → letter ('' for `.`, 'a'…'z' for `.a`…`.z`) of each missing value. */
  extendedMissing?: Map<number, string>;
}

export interface DtaFile {
  release: number;
  byteOrder: 'LSF' | 'MSF';
  nobs: number;
  dataLabel: string;
  timestamp: string;
  variables: DtaVariable[];
  /** Value label sets by name: value → label. */
  valueLabels: Record<string, Map<number, string>>;
}

/** Thrown for bytes that are not a dta file this reader supports; the message says why. */
export class DtaError extends Error {}

const SUPPORTED = [113, 114, 115, 117, 118, 119];

/** True if the bytes start like a Stata dta file (old binary header or `<stata_dta>`). */
export function looksLikeDta(b: Uint8Array): boolean {
  if (b.length >= 11 && latin1(b.subarray(0, 11)) === '<stata_dta>') return true;
  return b.length >= 4 && b[0]! >= 102 && b[0]! <= 115 && (b[1] === 1 || b[1] === 2) && b[2] === 1;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

const utf8 = new TextDecoder('utf-8');
const cp1252 = new TextDecoder('windows-1252');

class Cursor {
  readonly view: DataView;
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    public le = true,
    public unicode = false,
  ) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length) throw new DtaError(`truncated file: ${what} at byte ${this.pos} needs ${n} byte(s), the file has ${this.b.length}`);
  }
  u8(): number {
    this.need(1, 'a byte');
    return this.b[this.pos++]!;
  }
  u16(): number {
    this.need(2, 'a 2-byte integer');
    const v = this.view.getUint16(this.pos, this.le);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4, 'a 4-byte integer');
    const v = this.view.getUint32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4, 'a 4-byte integer');
    const v = this.view.getInt32(this.pos, this.le);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8, 'an 8-byte integer');
    const v = this.view.getBigUint64(this.pos, this.le);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DtaError(`an 8-byte count ${v} is too large`);
    return Number(v);
  }
  bytes(n: number): Uint8Array {
    this.need(n, `${n} bytes`);
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** A fixed-width, NUL-terminated text field. */
  str(n: number): string {
    return this.decode(cut(this.bytes(n)));
  }
  decode(b: Uint8Array): string {
    return (this.unicode ? utf8 : cp1252).decode(b);
  }
  tag(t: string): void {
    const n = t.length;
    this.need(n, `the tag ${t}`);
    const got = latin1(this.b.subarray(this.pos, this.pos + n));
    if (got !== t) throw new DtaError(`expected ${t} at byte ${this.pos}, found ${JSON.stringify(got)}`);
    this.pos += n;
  }
}

/** The bytes before the first NUL. */
function cut(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

/** Storage type of an old-format (113–115) type code. */
function oldType(code: number): string {
  if (code >= 1 && code <= 244) return `str${code}`;
  const t = { 251: 'byte', 252: 'int', 253: 'long', 254: 'float', 255: 'double' }[code];
  if (!t) throw new DtaError(`unknown variable type code ${code}`);
  return t;
}

/** Storage type of a 117+ type code. */
function newType(code: number): string {
  if (code >= 1 && code <= 2045) return `str${code}`;
  const t = { 32768: 'strL', 65526: 'double', 65527: 'float', 65528: 'long', 65529: 'int', 65530: 'byte' }[code];
  if (!t) throw new DtaError(`unknown variable type code ${code}`);
  return t;
}

function width(type: string): number {
  switch (type) {
    case 'byte':
      return 1;
    case 'int':
      return 2;
    case 'long':
    case 'float':
      return 4;
    case 'double':
    case 'strL':
      return 8;
    default:
      return Number(type.slice(3));
  }
}

const LETTERS = ' abcdefghijklmnopqrstuvwxyz';

/**
 * One numeric value at `pos`: the number, or NaN with the missing letter ('' for `.`).
 * dta spec: byte 101 = `.`, 102 = `.a` …; int 32741 = `.`; long 2147483621 = `.`;
 * float 0x7f000000 = `.`, `.a` = 0x7f000800, step 0x800; double 0x7fe0000000000000 = `.`, step 2^40.
 */
function readNum(v: DataView, pos: number, type: string, le: boolean): [number, string | null] {
  switch (type) {
    case 'byte': {
      const x = v.getInt8(pos);
      return x > 100 ? [NaN, LETTERS[x - 101]!.trim()] : [x, null];
    }
    case 'int': {
      const x = v.getInt16(pos, le);
      return x > 32740 ? [NaN, LETTERS[x - 32741]!.trim()] : [x, null];
    }
    case 'long': {
      const x = v.getInt32(pos, le);
      return x > 2147483620 ? [NaN, LETTERS[x - 2147483621]!.trim()] : [x, null];
    }
    case 'float': {
      const bits = v.getUint32(pos, le);
      if (bits >= 0x7f000000 && bits < 0x80000000) return [NaN, LETTERS[Math.min(26, (bits - 0x7f000000) >>> 11)]!.trim()];
      return [v.getFloat32(pos, le), null];
    }
    default: {
      const hi = v.getUint32(pos + (le ? 4 : 0), le);
      if (hi >= 0x7fe00000 && hi < 0x80000000) return [NaN, LETTERS[Math.min(26, (hi - 0x7fe00000) >>> 8)]!.trim()];
      return [v.getFloat64(pos, le), null];
    }
  }
}

/** One value label table (`<lbl>` contents after the name/padding): n, txtlen, off[n], val[n], txt. */
function readLabelTable(c: Cursor, len: number): Map<number, string> {
  const end = c.pos + len;
  const n = c.i32();
  const txtlen = c.i32();
  if (n < 0 || txtlen < 0 || 8 + 8 * n + txtlen > len) throw new DtaError(`a value label table at byte ${c.pos - 8} has inconsistent sizes`);
  const off: number[] = [];
  for (let i = 0; i < n; i++) off.push(c.i32());
  const val: number[] = [];
  for (let i = 0; i < n; i++) val.push(c.i32());
  const txt = c.bytes(txtlen);
  const m = new Map<number, string>();
  for (let i = 0; i < n; i++) m.set(val[i]!, c.decode(cut(txt.subarray(off[i]!))));
  c.pos = end;
  return m;
}

interface Layout {
  types: string[];
  names: string[];
  formats: string[];
  valueLabelNames: string[];
  labels: string[];
}

/** Read the data records starting at c.pos; strL cells are resolved through `strls`. */
function readData(c: Cursor, nobs: number, L: Layout, release: number, strls: Map<string, string> | null): DtaVariable[] {
  const widths = L.types.map(width);
  const rec = widths.reduce((a, b) => a + b, 0);
  c.need(rec * nobs, `the data (${nobs} records of ${rec} bytes)`);
  const offs: number[] = [];
  widths.reduce((o, w) => (offs.push(o), o + w), 0);
  const base = c.pos;
  const vars: DtaVariable[] = L.names.map((name, j) => {
    const type = L.types[j]!;
    const v: DtaVariable = { name, type, format: L.formats[j]!, label: L.labels[j]!, valueLabel: L.valueLabelNames[j]!, values: type.startsWith('str') ? new Array<string>(nobs) : new Float64Array(nobs) };
    if (!type.startsWith('str')) v.extendedMissing = new Map();
    return v;
  });
  for (let i = 0; i < nobs; i++) {
    const r = base + i * rec;
    for (let j = 0; j < vars.length; j++) {
      const v = vars[j]!;
      const pos = r + offs[j]!;
      if (v.type === 'strL') {
        let key: string;
        if (release === 117) key = `${c.view.getUint32(pos, c.le)}:${c.view.getUint32(pos + 4, c.le)}`;
        else {
          // 118: v = 2 bytes, o = 6 bytes; 119: v = 3 bytes, o = 5 bytes (dta_119; pandas writes this).
          // ReadStat (R haven) writes 119 files with the 118 split: when the 119 key is not in <strls>, try that.
          // Big-endian (MSF) strLs are untested: neither pandas 1.5 nor haven 2.5.1 reads its own back.
          const b = c.b.subarray(pos, pos + 8);
          const num = (s: number, n: number) => {
            let x = 0;
            for (let k = 0; k < n; k++) x += b[s + (c.le ? k : n - 1 - k)]! * 2 ** (8 * k);
            return x;
          };
          const split = (vb: number) => `${num(0, vb)}:${num(vb, 8 - vb)}`;
          key = split(release === 118 ? 2 : 3);
          if (release === 119 && !strls?.has(key)) key = split(2);
        }
        (v.values as string[])[i] = key === '0:0' ? '' : (strls?.get(key) ?? '');
      } else if (v.type.startsWith('str')) {
        (v.values as string[])[i] = c.decode(cut(c.b.subarray(pos, pos + widths[j]!)));
      } else {
        const [x, miss] = readNum(c.view, pos, v.type, c.le);
        (v.values as Float64Array)[i] = x;
        if (miss !== null) v.extendedMissing!.set(i, miss);
      }
    }
  }
  c.pos = base + rec * nobs;
  return vars;
}

function readOld(b: Uint8Array, release: number): DtaFile {
  const c = new Cursor(b);
  c.pos = 1;
  const order = c.u8();
  if (order !== 1 && order !== 2) throw new DtaError(`byte order flag ${order} is neither 1 (MSF) nor 2 (LSF)`);
  c.le = order === 2;
  c.pos = 4;
  const K = c.u16();
  const N = c.u32();
  const dataLabel = c.str(81);
  const timestamp = c.str(18);
  const types = Array.from(c.bytes(K), oldType);
  const names = Array.from({ length: K }, () => c.str(33));
  c.bytes(2 * (K + 1)); // sortlist
  const formats = Array.from({ length: K }, () => c.str(release === 113 ? 12 : 49));
  const valueLabelNames = Array.from({ length: K }, () => c.str(33));
  const labels = Array.from({ length: K }, () => c.str(81));
  // expansion fields: (type byte, int32 len, contents) until type 0 with len 0
  for (;;) {
    const t = c.u8();
    const len = c.i32();
    if (t === 0 && len === 0) break;
    c.bytes(len);
  }
  const variables = readData(c, N, { types, names, formats, valueLabelNames, labels }, release, null);
  const valueLabels: Record<string, Map<number, string>> = {};
  while (c.pos + 4 <= b.length) {
    const len = c.i32();
    const name = c.str(33);
    c.bytes(3);
    valueLabels[name] = readLabelTable(c, len);
  }
  return { release, byteOrder: c.le ? 'LSF' : 'MSF', nobs: N, dataLabel, timestamp, variables, valueLabels };
}

function readNew(b: Uint8Array): DtaFile {
  const c = new Cursor(b);
  c.tag('<stata_dta>');
  c.tag('<header>');
  c.tag('<release>');
  const release = Number(latin1(c.bytes(3)));
  if (!SUPPORTED.includes(release)) throw new DtaError(`dta release ${release} is not supported (supported: ${SUPPORTED.join(', ')})`);
  c.tag('</release>');
  c.tag('<byteorder>');
  const bo = latin1(c.bytes(3));
  if (bo !== 'LSF' && bo !== 'MSF') throw new DtaError(`byte order ${JSON.stringify(bo)} is neither LSF nor MSF`);
  c.le = bo === 'LSF';
  c.unicode = release >= 118;
  c.tag('</byteorder>');
  c.tag('<K>');
  const K = release === 119 ? c.u32() : c.u16();
  c.tag('</K>');
  c.tag('<N>');
  const N = release === 117 ? c.u32() : c.u64();
  c.tag('</N>');
  c.tag('<label>');
  const dataLabel = c.decode(c.bytes(release === 117 ? c.u8() : c.u16()));
  c.tag('</label>');
  c.tag('<timestamp>');
  const timestamp = c.decode(c.bytes(c.u8()));
  c.tag('</timestamp>');
  c.tag('</header>');
  c.tag('<map>');
  const map = Array.from({ length: 14 }, () => c.u64());
  const nameLen = release === 117 ? 33 : 129;
  const at = (k: number, tag: string) => {
    c.pos = map[k]!;
    c.tag(tag);
  };
  at(2, '<variable_types>');
  const types = Array.from({ length: K }, () => newType(c.u16()));
  at(3, '<varnames>');
  const names = Array.from({ length: K }, () => c.str(nameLen));
  at(5, '<formats>');
  const formats = Array.from({ length: K }, () => c.str(release === 117 ? 49 : 57));
  at(6, '<value_label_names>');
  const valueLabelNames = Array.from({ length: K }, () => c.str(nameLen));
  at(7, '<variable_labels>');
  const labels = Array.from({ length: K }, () => c.str(release === 117 ? 81 : 321));
  // strLs first, so that data cells can be resolved
  const strls = new Map<string, string>();
  at(10, '<strls>');
  while (latin1(c.b.subarray(c.pos, c.pos + 3)) === 'GSO') {
    c.pos += 3;
    const v = c.u32();
    const o = release === 117 ? c.u32() : c.u64();
    const t = c.u8();
    const len = c.u32();
    const data = c.bytes(len);
    // t 130 = ASCII/UTF-8 text stored with its terminating NUL; 129 = binary (kept as text too)
    strls.set(`${v}:${o}`, c.decode(t === 130 ? cut(data) : data));
  }
  c.tag('</strls>');
  at(9, '<data>');
  const variables = readData(c, N, { types, names, formats, valueLabelNames, labels }, release, strls);
  c.tag('</data>');
  const valueLabels: Record<string, Map<number, string>> = {};
  at(11, '<value_labels>');
  while (latin1(c.b.subarray(c.pos, c.pos + 5)) === '<lbl>') {
    c.pos += 5;
    const len = c.i32();
    const name = c.str(nameLen);
    c.bytes(3);
    valueLabels[name] = readLabelTable(c, len);
    c.tag('</lbl>');
  }
  c.tag('</value_labels>');
  return { release, byteOrder: c.le ? 'LSF' : 'MSF', nobs: N, dataLabel, timestamp, variables, valueLabels };
}

const STATA_EPOCH_MS = Date.UTC(1960, 0, 1);

/**
 * A Stata date or datetime as ISO text, by its display format (Stata `help datetime`): `%td` (and the
 * old `%d`) = days since 1960-01-01 → `YYYY-MM-DD`; `%tc` / `%tC` = milliseconds since 1960-01-01
 * 00:00:00 → `YYYY-MM-DDTHH:MM:SS` (milliseconds shown when not 0; `%tC`'s leap seconds are ignored).
 * Returns undefined for other formats (the number is kept), null for a missing value.
 */
export function stataDateText(x: number, format: string): string | null | undefined {
  const f = format.replace(/^%-?/, '%');
  const days = /^%(td|d)/.test(f);
  const ms = /^%t[cC]/.test(f);
  if (!days && !ms) return undefined;
  if (Number.isNaN(x)) return null;
  const iso = new Date(STATA_EPOCH_MS + (days ? x * 86_400_000 : x)).toISOString();
  return days ? iso.slice(0, 10) : iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
}

/** Parse dta bytes. Throws DtaError (with the reason) for anything this reader cannot read. */
export function readDta(bytes: Uint8Array): DtaFile {
  if (bytes.length >= 11 && latin1(bytes.subarray(0, 11)) === '<stata_dta>') return readNew(bytes);
  if (!looksLikeDta(bytes)) throw new DtaError(`not a Stata dta file: it starts with ${JSON.stringify(latin1(bytes.subarray(0, 12)))}, neither <stata_dta> nor a dta 102–115 header`);
  const release = bytes[0]!;
  if (bytes.length < 109) throw new DtaError(`the file is ${bytes.length} bytes, shorter than a dta header`);
  if (!SUPPORTED.includes(release)) {
    throw new DtaError(`dta release ${release} is not supported (supported: ${SUPPORTED.join(', ')}); in Stata, \`saveold file.dta, version(13)\` or \`save\` writes one this reader takes`);
  }
  return readOld(bytes, release);
}
