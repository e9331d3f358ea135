/** Hand-built XLSX workbooks for the limit tests (the project's own ZIP writer; no spreadsheet program could write a bomb). */
import { writeFileSync } from 'node:fs';
import { writeZip } from '../../../steps/render/zip.js';

const enc = (s: string) => new TextEncoder().encode(s);
/** Writes to `p` a minimal workbook: one sheet named `name` whose sheetData is `rows`. */
export function writeWorkbook(p: string, name: string, rows: string): string {
  const bytes = writeZip([
    { name: '[Content_Types].xml', data: enc('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>') },
    { name: 'xl/workbook.xml', data: enc(`<workbook xmlns:r="r"><sheets><sheet name="${name}" sheetId="1" r:id="rId1"/></sheets></workbook>`) },
    { name: 'xl/_rels/workbook.xml.rels', data: enc('<Relationships><Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>') },
    { name: 'xl/worksheets/sheet1.xml', data: enc(`<worksheet><sheetData>${rows}</sheetData></worksheet>`) },
  ]);
  writeFileSync(p, bytes);
  return p;
}

/** `n` rows of one cell each without row numbers: about 26 bytes of XML a row, deflating ~30:1. */
export const manyRows = (n: number) => '<row><c><v>1</v></c></row>'.repeat(n);
