/**
 * A minimal ZIP reader and a deterministic ZIP writer for the Office files tabulate writes (.docx,
 * .xlsx are ZIP packages). The libraries that build them (docx, exceljs) stamp the current time into
 * the archive's entry headers, so the same table would give different bytes on every run and break
 * the content-hash cache; {@link rezip} rewrites an archive with fixed timestamps (1980-01-01 00:00,
 * the earliest DOS date) and entries in their original order, deflated with node:zlib.
 *
 * Format: PKWARE APPNOTE.TXT 6.3 (local file headers, central directory, end of central directory);
 * only what Office packages use: stored (0) and deflated (8) entries, no ZIP64, no encryption.
 *
 * @example
 * const entries = readZip(bytes);              // [{ name: 'word/document.xml', data: Uint8Array }, ...]
 * const same = writeZip(entries);              // deterministic bytes
 */
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/** Where one entry of a ZIP archive lies, as its central directory says (sizes as declared: a hostile file may lie). */
export interface ZipDirEntry {
  name: string;
  /** 0 stored, 8 deflated */
  method: number;
  /** compressed bytes, and where they start in the archive */
  csize: number;
  start: number;
  /** uncompressed size as declared by the archive */
  usize: number;
}

/**
 * The central directory of a ZIP archive, without decompressing anything. Throws on a malformed
 * archive and on ZIP64 (no Office package below 4 GB needs it).
 *
 * @example
 * zipDirectory(bytes).map((e) => e.name);      // ['[Content_Types].xml', 'xl/workbook.xml', ...]
 */
export function zipDirectory(bytes: Uint8Array): ZipDirEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('readZip: no end-of-central-directory record (not a ZIP archive)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || p === 0xffffffff) throw new Error('readZip: ZIP64 archive (over 65,535 entries or 4 GB) is not supported');
  const out: ZipDirEntry[] = [];
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`readZip: bad central directory entry ${k + 1}`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const usize = buf.readUInt32LE(p + 24);
    const nlen = buf.readUInt16LE(p + 28);
    const xlen = buf.readUInt16LE(p + 30);
    const clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nlen).toString('utf8');
    if (csize === 0xffffffff || usize === 0xffffffff || local === 0xffffffff) throw new Error(`readZip: entry ${name} is ZIP64 (over 4 GB), not supported`);
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) throw new Error(`readZip: entry ${name} has no local header`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    if (start + csize > buf.length) throw new Error(`readZip: entry ${name} runs past the end of the archive`);
    if (method !== 0 && method !== 8) throw new Error(`readZip: entry ${name} uses compression method ${method}; only stored and deflate are supported`);
    out.push({ name, method, csize, start, usize });
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

/** The entries of a ZIP archive (from its central directory), decompressed. Throws on a malformed archive. */
export function readZip(bytes: Uint8Array): ZipEntry[] {
  return zipDirectory(bytes).map((e) => {
    const raw = bytes.subarray(e.start, e.start + e.csize);
    return { name: e.name, data: new Uint8Array(e.method === 8 ? inflateRawSync(raw) : raw) };
  });
}

/** A ZIP archive of `entries` (deflated, UTF-8 names, timestamps 1980-01-01 00:00): the same entries give the same bytes. */
export function writeZip(entries: ZipEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const data = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const comp = deflateRawSync(data, { level: 9 });
    const crc = crc32(data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4); // version needed
    lh.writeUInt16LE(0x0800, 6); // UTF-8 names
    lh.writeUInt16LE(8, 8); // deflate
    lh.writeUInt16LE(0, 10); // time 00:00:00
    lh.writeUInt16LE(DOS_DATE, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(0, 28);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4); // made by
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x0800, 8);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt16LE(0, 12);
    ch.writeUInt16LE(DOS_DATE, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, comp);
    central.push(ch, name);
    offset += lh.length + name.length + comp.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

/**
 * Rewrite an archive deterministically; `fix` may edit an entry's text (e.g. drop the creation
 * time from docProps/core.xml).
 */
export function rezip(bytes: Uint8Array, fix: (name: string, data: Uint8Array) => Uint8Array = (_, d) => d): Uint8Array {
  return writeZip(readZip(bytes).map((e) => ({ name: e.name, data: fix(e.name, e.data) })));
}

/** Set every W3CDTF timestamp of an OOXML docProps/core.xml to a fixed date (the file records when it was made; ours must not). */
export function fixCoreDates(name: string, data: Uint8Array, iso = '2000-01-01T00:00:00Z'): Uint8Array {
  if (name !== 'docProps/core.xml') return data;
  const s = Buffer.from(data).toString('utf8');
  return new Uint8Array(Buffer.from(s.replace(/(<dcterms:(?:created|modified)[^>]*>)[^<]*(<\/dcterms:)/g, `$1${iso}$2`), 'utf8'));
}
