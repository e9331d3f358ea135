/**
 * Command lines of the `script` step, without a shell: splitting a command the way a POSIX shell
 * would split words (quotes, backslashes; no expansion), the placeholders `{in.NAME}`,
 * `{out.NAME}` and `{project}`, finding the project files a command runs (`Rscript scripts/x.R` →
 * `scripts/x.R`), finding a program on PATH, and the install hint of a missing interpreter.
 *
 * @example
 * splitCommand(`Rscript "my scripts/fit.R" {in.panel} --label='a b'`);
 * // [{text: 'Rscript', quoted: false}, {text: 'my scripts/fit.R', quoted: true}, {text: '{in.panel}', …}, {text: '--label=a b', …}]
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Word {
  /** The word after quote removal. */
  text: string;
  /** Some part of it was quoted. */
  quoted: boolean;
}

/** Characters that mean something to a shell; unquoted in a `shell: false` command they are an error. */
const SHELL_META = new Set(['|', '&', ';', '<', '>', '(', ')', '$', '`']);

/**
 * Split a command into words like `sh` does, without any expansion: whitespace separates words;
 * '…' is literal; "…" is literal except \" \\ \$ \` ; a backslash outside quotes escapes the next
 * character. Throws (a message naming the problem and the fix) on an unterminated quote, or, with
 * `noShell`, on an unquoted shell operator (`|`, `>`, `;`, `$`, …) that would silently be passed
 * as an argument.
 */
export function splitCommand(cmd: string, noShell = true): Word[] {
  const out: Word[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === "'") {
      const j = cmd.indexOf("'", i + 1);
      if (j < 0) throw new Error(`unterminated ' quote at character ${i + 1} of the command`);
      cur += cmd.slice(i + 1, j);
      i = j;
      inWord = quoted = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < cmd.length && cmd[j] !== '"'; j++) {
        if (cmd[j] === '\\' && j + 1 < cmd.length && '"\\$`'.includes(cmd[j + 1]!)) j++;
        cur += cmd[j];
      }
      if (j >= cmd.length) throw new Error(`unterminated " quote at character ${i + 1} of the command`);
      i = j;
      inWord = quoted = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push({ text: cur, quoted });
      cur = '';
      inWord = quoted = false;
    } else {
      if (noShell && SHELL_META.has(c)) {
        throw new Error(`unquoted "${c}" in the command: it runs without a shell, so pipes, redirections, variables and \`;\` do not work; quote it to pass it as text, or set \`shell: true\``);
      }
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push({ text: cur, quoted });
  return out;
}

/** A placeholder in a command: `{in.NAME}`, `{out.NAME}` or `{project}`. */
export const PLACEHOLDER = /\{(in|out)\.([A-Za-z_][A-Za-z0-9_]*)\}|\{project\}/g;

/** The `{in.X}` / `{out.X}` names a command refers to. */
export function placeholders(cmd: string): { in: string[]; out: string[]; unknown: string[] } {
  const r = { in: [] as string[], out: [] as string[], unknown: [] as string[] };
  for (const m of cmd.matchAll(PLACEHOLDER)) if (m[1]) r[m[1] as 'in' | 'out'].push(m[2]!);
  for (const m of cmd.matchAll(/\{([^{}\s]*)\}/g)) {
    if (!/^(in|out)\.[A-Za-z_][A-Za-z0-9_]*$|^project$/.test(m[1]!)) r.unknown.push(`{${m[1]}}`);
  }
  return r;
}

/** Replace placeholders in one word (or, with `quote`, in a shell command: each path single-quoted). */
export function substitute(text: string, paths: { in: Record<string, string>; out: Record<string, string>; project: string }, quote = false): string {
  const q = (s: string): string => (quote ? `'${s.replace(/'/g, `'\\''`)}'` : s);
  return text.replace(PLACEHOLDER, (m, io: 'in' | 'out' | undefined, name: string | undefined) => {
    if (!io) return q(paths.project);
    const p = paths[io][name!];
    if (p === undefined) throw new Error(`${m}: no ${io === 'in' ? 'input' : 'declared output'} "${name}"`);
    return q(p);
  });
}

/** Extensions of files a command runs as a program's script (R, Python, shell, Stata, Julia, …). */
export const SCRIPT_EXT = /\.(R|r|Rmd|qmd|py|sh|bash|do|ado|jl|pl|rb|js|mjs|cjs|awk|sed|sql|m|lua|tcl)$/;

/**
 * The project files a command runs, found from its words alone (no file system access, so a
 * validated spec stays valid): words with a script extension (`scripts/fit.R`), the program when it
 * is a relative path (`./scripts/run.sh`), and `{project}/…` words; not options (`-e`, `--x=…`),
 * placeholders, absolute paths or URLs. Relative to the pipeline folder, as written.
 */
export function scriptFiles(cmd: string, shell: boolean): string[] {
  let words: Word[];
  try {
    words = splitCommand(cmd, false);
  } catch {
    return []; // reported by the params check
  }
  const out: string[] = [];
  words.forEach((w, i) => {
    const proj = w.text.startsWith('{project}/');
    // with a shell the command runs in the temp dir as written: only {project}/… words name project files
    if (shell && !proj) return;
    const t = proj ? w.text.slice('{project}/'.length) : w.text;
    if (t === '' || t.startsWith('-') || /[{}$`*?]/.test(t) || /^[a-z]+:\/\//i.test(t) || path.isAbsolute(t) || t.startsWith('~')) return;
    if (proj || SCRIPT_EXT.test(t) || (i === 0 && t.includes('/'))) out.push(t);
  });
  return [...new Set(out)];
}

/** The absolute path of `program` found on `PATH` (a name with a slash is taken as a path), or null. */
export function whichProgram(program: string, envPath: string | undefined, cwd: string): string | null {
  const isFile = (p: string): boolean => {
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) return false;
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    const abs = path.resolve(cwd, program);
    return isFile(abs) ? abs : null;
  }
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, program);
    if (isFile(p)) return p;
  }
  return null;
}

/** How to install a missing program, for the error message. */
export function installHint(program: string): string {
  const base = path.basename(program);
  if (/^(Rscript|R)$/.test(base)) return 'install R (https://cloud.r-project.org; Debian/Ubuntu: `apt-get install r-base-core`, macOS: `brew install r`), or put its bin folder on PATH';
  if (/^python[0-9.]*$/.test(base)) return 'install Python 3 (https://www.python.org; Debian/Ubuntu: `apt-get install python3`), or put it on PATH';
  if (/^(stata|stata-mp|stata-se|StataMP|StataSE|xstata)/i.test(base)) return 'Stata is licensed software: put the folder holding its executable on PATH (or set `env: {PATH: …}` in the step)';
  if (base === 'julia') return 'install Julia (https://julialang.org/downloads), or put it on PATH';
  return `install ${base} or put the folder that holds it on PATH (or set \`env: {PATH: …}\` in the step)`;
}
