/**
 * `repro status | why | dag | show | log | gc` (see main.ts for the synopsis).
 */
import path from 'node:path';
import { intFlag, parseArgs, variantFlag } from './args.js';
import { renderDag, type DagFormat, type DagState } from '../graph.js';
import { UsageError } from '../errors.js';
import { short } from '../canonical.js';
import { detailLines, reasonLine } from '../reasons.js';

async function overridesOf(p: { lists: Record<string, string[]>; bools: Set<string> }): Promise<import('../spec.js').ParamOverride[]> {
  if (!p.lists.set?.length) return [];
  const { parseOverride } = await import('../config/load.js');
  const inherit = p.bools.has('inherit'); // --set also reaches the steps that extends ID
  return p.lists.set.map((a) => ({ ...parseOverride(a), ...(inherit ? { inherit } : {}) }));
}

const pipelineArg = (positionals: string[], command: string, max = 1): string => {
  if (positionals.length > max) throw new UsageError(`repro ${command}: unexpected argument ${positionals.slice(max).join(' ')}`);
  return positionals[max - 1] ?? 'pipeline.yaml';
};

export async function cmdStatus(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['remote-cache'], repeat: ['target', 'force', 'set'], bools: ['json', 'verbose', 'inherit'] }, 'status');
  const file = pipelineArg(p.positionals, 'status');
  const { openSession } = await import('../session.js');
  const { planSession } = await import('../plan.js');
  const session = await openSession({ file, overrides: await overridesOf(p) });
  // with a remote cache: local misses are looked up there, and which nodes it has is shown
  const remoteWarn: string[] = [];
  const remote = p.values['remote-cache'] !== undefined || process.env.REPRO_REMOTE_CACHE || session.spec.cache?.remote ? await (await import('./remote.js')).remoteOf(session.spec, p.values, 'status', (m) => remoteWarn.push(m)) : null;
  const nodes = await planSession(session, { targets: p.lists.target ?? [], force: p.lists.force ?? [], remote });
  const onRemote = remote ? await (await import('../remote/sync.js')).remoteHas(remote, nodes.filter((n) => n.key && !n.fromRemote).map((n) => n.key!)) : null;
  const hasRemote = (n: { key?: string | undefined; fromRemote?: boolean }): boolean => !!n.fromRemote || (!!n.key && !!onRemote?.has(n.key));
  const stale = nodes.filter((n) => n.state === 'stale');
  const pending = nodes.filter((n) => n.state === 'pending');
  if (p.bools.has('json')) {
    process.stdout.write(
      `${JSON.stringify({
        pipeline: session.spec.name,
        up_to_date: stale.length === 0 && pending.length === 0,
        nodes: nodes.map((n) => {
          const w = session.preflight?.get(n.id);
          return { id: n.id, kind: n.kind, state: n.state, reason: n.reason, reasons: n.reasons, ...(n.key ? { key: n.key } : {}), ...(remote ? { remote: n.key ? hasRemote(n) : null } : {}), ...(w?.length ? { warnings: w } : {}) };
        }),
        ...(remote ? { remote: { url: remote.display, available: remote.available, ...(remote.downReason ? { down: remote.downReason } : {}) } } : {}),
      })}\n`,
    );
    return 0;
  }
  const { makeUi, nodeLine, columnWidths } = await import('./ui.js');
  const ui = await makeUi();
  const { idw, kindw } = columnWidths(nodes);
  // a 10,000-node pipeline should not print 10,000 "up to date" lines: show cached ones with --verbose, or when few
  const showCached = p.bools.has('verbose') || nodes.length <= 60;
  const lines: string[] = [];
  for (const n of nodes) {
    if (n.state === 'cached' && !showCached) continue;
    lines.push(nodeLine(ui.c, n.state, n.id, n.kind, null, n.reason, idw, kindw));
  }
  if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  // problems found while fingerprinting (e.g. a script step's interpreter is not installed)
  for (const n of nodes) for (const w of session.preflight?.get(n.id) ?? []) ui.err(ui.c.yellow(`warning: ${n.id}: ${w}`));
  for (const w of remoteWarn) ui.err(ui.c.yellow(`warning: ${w}`));
  if (remote && remote.available) {
    const have = nodes.filter(hasRemote);
    const fetch = nodes.filter((n) => n.fromRemote).length;
    const missing = nodes.filter((n) => !hasRemote(n)).map((n) => n.id);
    ui.out(
      `remote ${remote.display}: has ${have.length} of ${nodes.length} nodes${fetch ? ` (${fetch} not in the local store: a run fetches them)` : ''}` +
        (missing.length ? `; not there: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? `, … (+${missing.length - 8})` : ''}` : ''),
    );
  }
  const cached = nodes.length - stale.length - pending.length;
  const fetched = nodes.filter((n) => n.fromRemote).length;
  const summary =
    stale.length + pending.length === 0
      ? ui.c.green(`${session.spec.name}: up to date (${cached} nodes cached${fetched ? `, ${fetched} of them in the remote cache only: a run fetches them` : ''})`)
      : `${session.spec.name}: ${ui.c.yellow(`${stale.length} would run`)}, ${pending.length} wait for recomputed inputs (rerun only if those change), ${cached} cached`;
  ui.out(summary);
  return 0;
}

export async function cmdWhy(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { repeat: ['set'], bools: ['json', 'verbose', 'inherit', 'no-reread'] }, 'why');
  if (p.positionals.length < 1) throw new UsageError('repro why: which node? usage: repro why ID [PIPELINE]');
  const id = p.positionals[0]!;
  const file = pipelineArg(p.positionals, 'why', 2);
  const { openSession } = await import('../session.js');
  const { planSession } = await import('../plan.js');
  const s = await openSession({ file, overrides: await overridesOf(p) });
  if (!s.graph.byId.has(id)) {
    const { resolveIds } = await import('../graph.js');
    resolveIds(s.graph, id, 'why'); // throws with suggestions unless it is a foreach base id
    throw new UsageError(`repro why: ${id} is a foreach node; ask about one expansion: ${s.graph.nodes.filter((n) => n.baseId === id).map((n) => n.id).join(', ')}`);
  }
  const plan = await planSession(s, { targets: [id] });
  const n = plan.find((x) => x.id === id)!;
  // row/cell-level detail of changed input tables and files (engine/data-detail.ts), as data on the reasons
  const { explainData } = await import('../data-detail.js');
  // (a node never run has nothing to compare with)
  const data = n.latest ? await explainData(s, plan, id, { reread: !p.bools.has('no-reread') }) : { changes: n.changes, upstream: [] };
  const lines: string[] = [];
  if (!n.latest) {
    lines.push(`${id} (${n.kind}) has never run successfully${n.state === 'cached' ? ', but an identical computation is cached' : ''}.`);
    const hist = await s.history();
    for (let i = hist.runs.length - 1; i >= 0; i--) {
      const rec = hist.runs[i]!.nodes.find((x) => x.id === id);
      if (!rec || hist.runs[i]!.pipeline !== s.spec.name) continue;
      lines.push(`  last attempt: run #${hist.runs[i]!.id} at ${hist.runs[i]!.started}: ${rec.status}${rec.error ? ` — ${rec.error}` : rec.reason ? ` (${rec.reason})` : ''}`);
      break;
    }
  }
  else {
    const when = `run #${n.latest.run} at ${n.latest.at}`;
    if (n.state === 'cached' && n.changes.length === 0) lines.push(`${id} (${n.kind}) is up to date: nothing changed since ${when} (fingerprint ${short(n.key)}).`);
    else {
      const head =
        n.state === 'cached'
          ? `${id} (${n.kind}) is cached (an earlier computation matches), but differs from ${when}:`
          : n.state === 'stale'
            ? `${id} (${n.kind}) will run: ${n.reason}. Changes since ${when}:`
            : `${id} (${n.kind}) waits for ${n.waitsFor.join(', ')}; changes since ${when}:`;
      lines.push(head);
      for (const ch of data.changes) lines.push(`  ${reasonLine(ch)}`, ...detailLines(ch));
      if (n.state === 'pending') for (const w of n.waitsFor) lines.push(`  input from ${w}: will be recomputed first (reruns ${id} only if it changes)`);
      for (const u of data.upstream) {
        lines.push(`  upstream ${u.node} (${u.kind}) runs first: ${u.changes.length ? '' : 'no part changed'}`.trimEnd());
        for (const ch of u.changes) lines.push(`    ${reasonLine(ch)}`, ...detailLines(ch, '      '));
      }
      if (n.changes.length === 0 && n.state !== 'pending') lines.push(`  (no part changed: ${n.reason})`);
    }
  }
  if (p.bools.has('json')) {
    process.stdout.write(
      `${JSON.stringify({ id, kind: n.kind, state: n.state, reason: n.reason, key: n.key ?? null, last: n.latest ? { run: n.latest.run, at: n.latest.at, key: n.latest.key } : null, reasons: n.reasons, changes: data.changes, waits_for: n.waitsFor, upstream: data.upstream })}\n`,
    );
  } else process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function cmdDag(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['format'], repeat: ['set'], bools: ['verbose', 'inherit'] }, 'dag');
  const file = pipelineArg(p.positionals, 'dag');
  const format = (p.values.format ?? 'text') as DagFormat | 'json';
  if (!['text', 'mermaid', 'dot', 'json'].includes(format)) throw new UsageError(`repro dag: --format must be text, mermaid, dot or json, got "${format}"`);
  const { planPipeline } = await import('../plan.js');
  const { session, nodes } = await planPipeline({ file, overrides: await overridesOf(p) });
  const state = new Map<string, DagState>(nodes.map((n) => [n.id, n.state]));
  if (format === 'json') {
    const g = session.graph;
    const obj = {
      pipeline: session.spec.name,
      nodes: g.nodes.map((n) => ({ id: n.id, kind: n.kind, state: state.get(n.id) ?? 'stale', inputs: n.inputs, publish: n.publish ?? null })),
      edges: g.nodes.flatMap((n) => [...(g.deps.get(n.id) ?? [])].map((d) => ({ from: d, to: n.id }))),
    };
    process.stdout.write(`${JSON.stringify(obj)}\n`);
    return 0;
  }
  let paint: ((s: DagState, t: string) => string) | undefined;
  if (format === 'text') {
    const [{ makeUi, paintStatus }] = await Promise.all([import('./ui.js')]);
    const ui = await makeUi();
    paint = (s, t) => paintStatus(ui.c, s, t);
  }
  process.stdout.write(`${renderDag(session.graph, state, format, paint)}\n`);
  return 0;
}

export async function cmdShow(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { bools: ['json', 'csv', 'verbose'], values: ['rows', 'variant'] }, 'show');
  const variant = await variantFlag(p, 'show');
  if (p.positionals.length < 1) throw new UsageError('repro show: what? usage: repro show ID[.OUTPUT] [PIPELINE] [--json|--csv]');
  if (p.bools.has('json') && p.bools.has('csv')) throw new UsageError('repro show: --json and --csv exclude each other');
  const target = p.positionals[0]!;
  const file = pipelineArg(p.positionals, 'show', 2);
  const { openSession } = await import('../session.js');
  const s = await openSession({ file });
  let id = target;
  let output: string | undefined;
  if (!s.graph.byId.has(id)) {
    const dot = target.lastIndexOf('.');
    if (dot > 0 && s.graph.byId.has(target.slice(0, dot))) {
      id = target.slice(0, dot);
      output = target.slice(dot + 1);
    } else {
      const { resolveIds } = await import('../graph.js');
      resolveIds(s.graph, id, 'show');
      throw new UsageError(`repro show: ${id} is a foreach node; show one expansion: ${s.graph.nodes.filter((n) => n.baseId === id).map((n) => n.id).join(', ')}`);
    }
  }
  let latest = variant === undefined ? await s.latest(id) : undefined;
  if (variant !== undefined) {
    // --variant NAME: what the variant's runs made (never the main run's: a node the variant did not run has none)
    const { variantLatestKey } = await import('../history.js');
    const h = await s.history();
    const key = variantLatestKey(s.spec.name, variant);
    latest = h.latest[key]?.[id];
    if (!latest) {
      const known = [...new Set(h.runs.filter((r) => r.pipeline === s.spec.name && r.variant !== undefined).map((r) => r.variant!))];
      throw new Error(
        h.latest[key]
          ? `repro show: ${id} has no successful run in variant ${variant}; run \`repro run --variant ${variant} --set … --target ${id}\``
          : `repro show: no variant ${variant} recorded${known.length ? ` (variants: ${known.join(', ')})` : ' (`repro run --variant NAME --set …` makes one)'}`,
      );
    }
  }
  // not a usage error (the node exists): exit 1, and with --json an error object on stdout (main.ts)
  if (!latest) throw new Error(`repro show: ${id} has no successful run recorded; run \`repro run --target ${id}\` first`);
  const names = Object.keys(latest.outputs);
  const name = output ?? names[0];
  const ref = name !== undefined ? latest.outputs[name] : undefined;
  if (!ref) throw new UsageError(`repro show: ${id} has no output "${output}"; outputs: ${names.join(', ')}`);
  let art: import('../types.js').Artifact;
  try {
    art = await s.store.get(ref);
  } catch (e) {
    if ((e as Error).name !== 'CorruptObjectError') throw e;
    throw new Error(`repro show: ${id}.${name}: ${(e as Error).message} (removed by gc, or damaged); \`repro run --target ${id}\` recomputes it`);
  }
  const out = (t: string | Uint8Array): void => void process.stdout.write(t);
  if (art.type === 'table') {
    const { tableToCsv } = await import('../csv.js');
    const { toRows } = await import('../table.js');
    if (p.bools.has('csv')) out(tableToCsv(art.table));
    else if (p.bools.has('json')) out(`${JSON.stringify(toRows(art.table))}\n`);
    else {
      const max = intFlag(p, 'rows', 'show') ?? 20;
      out(await formatTable(art.table, max));
      if (names.length > 1) process.stderr.write(`(outputs of ${id}: ${names.join(', ')}; this is ${name})\n`);
    }
  } else if (art.type === 'json') {
    // the registry's presenter (engine/registry.ts) prints a model as its tidy table; --json keeps the raw JSON
    const present = p.bools.has('json') ? null : await (await import('../registry.js')).loadPresenter();
    const text = present ? await present(art.value, { csv: p.bools.has('csv') }) : null;
    if (text !== null) out(text);
    else {
      if (p.bools.has('csv')) throw new UsageError(`repro show: ${id}.${name} is JSON (not a model); --csv is for tables and models`);
      out(`${JSON.stringify(art.value, null, p.bools.has('json') ? undefined : 2)}\n`);
    }
  } else {
    if (p.bools.has('csv') && art.ext !== 'csv') throw new UsageError(`repro show: ${id}.${name} is a .${art.ext} file; --csv is for tables`);
    out(art.bytes);
  }
  return 0;
}

/** The first `max` rows of a table, aligned by display width (CJK counts two columns); numeric columns right-aligned. */
async function formatTable(t: import('../table.js').Table, max: number): Promise<string> {
  const { formatTextTable } = await import('../text.js');
  const rows = Math.min(max, t.nrows);
  const cells: string[][] = [];
  for (let i = 0; i < rows; i++) {
    cells.push(
      t.names.map((n) => {
        const c = t.columns[n]!;
        const v = c[i];
        if (typeof v === 'number') return Number.isNaN(v) ? 'NA' : Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
        return v ?? 'NA';
      }),
    );
  }
  const numeric = new Set(t.names.flatMap((n, j) => (t.columns[n] instanceof Float64Array ? [j] : [])));
  return `${formatTextTable(t.names, cells, numeric)}${t.nrows > rows ? `… ${t.nrows - rows} more rows (${t.nrows} in all; --csv prints everything)\n` : `(${t.nrows} rows)\n`}`;
}

export async function cmdLog(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['limit', 'node'], bools: ['json', 'verbose'] }, 'log');
  // `repro log N [PIPELINE]`: one run's nodes; `repro log [PIPELINE]`: the list of runs
  const runArg = p.positionals[0] !== undefined && /^#?\d+$/.test(p.positionals[0]) ? Number(p.positionals[0].replace('#', '')) : undefined;
  const file = runArg === undefined ? pipelineArg(p.positionals, 'log') : pipelineArg(p.positionals, 'log', 2);
  const limit = intFlag(p, 'limit', 'log') ?? 20;
  const storeDir = path.join(path.dirname(path.resolve(file)), 'artifacts');
  const { readHistory } = await import('../history.js');
  const h = await readHistory(storeDir);
  const node = p.values.node;
  if (node !== undefined && runArg === undefined) throw new UsageError(`repro log: --node ${node} needs a run number: \`repro log N --node ${node}\` (\`repro log\` lists the runs)`);
  if (runArg !== undefined) return logRun(h.runs, runArg, p.bools.has('json'), node);
  const runs = h.runs.slice(-limit).reverse();
  if (p.bools.has('json')) {
    process.stdout.write(`${JSON.stringify(p.bools.has('verbose') ? runs : runs.map(({ nodes: _n, ...r }) => r))}\n`);
    return 0;
  }
  const { makeUi, fmtMs } = await import('./ui.js');
  const ui = await makeUi();
  const c = ui.c;
  if (!runs.length) {
    ui.out(`no runs recorded in ${path.relative(process.cwd(), storeDir) || '.'}`);
    return 0;
  }
  for (const r of runs) {
    const t = r.started.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    const counts = `${r.counts.ran} ran, ${r.counts.cached} cached, ${r.counts.failed} failed, ${r.counts.skipped} skipped`;
    ui.out(`${c.bold(`#${r.id}`.padEnd(6))} ${t}  ${r.ok ? c.green('ok    ') : c.red('failed')}  ${counts.padEnd(44)} ${fmtMs(r.ms).padStart(8)}  ${c.dim(`${r.pipeline} (${r.file})`)}${r.variant !== undefined ? `  variant ${c.bold(r.variant)}` : ''}`);
    if (p.bools.has('verbose')) {
      for (const n of r.nodes) if (n.status !== 'cached') ui.out(c.dim(`         ${n.status.padEnd(7)} ${n.id}: ${n.error ?? n.reason}`));
    }
  }
  return 0;
}

/** `repro log N`: run N's header line and one row per node (status, ms, reason, error); with `node`, that node's transcript. */
async function logRun(runs: import('../history.js').RunRecord[], id: number, json: boolean, node?: string): Promise<number> {
  const r = runs.find((x) => x.id === id);
  if (!r) {
    const ids = runs.map((x) => x.id);
    throw new UsageError(`repro log: no run #${id} recorded${ids.length ? ` (runs #${ids[0]}–#${ids[ids.length - 1]}; \`repro log\` lists them)` : ' (no runs yet)'}`);
  }
  const withTranscript = r.nodes.filter((n) => typeof n.transcript === 'string').map((n) => n.id);
  if (node !== undefined) return logNode(r, node, json, withTranscript);
  if (json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const [{ makeUi, fmtMs, paintStatus }, { formatTextTable, displayWidth, padDisplay }] = await Promise.all([import('./ui.js'), import('../text.js')]);
  const ui = await makeUi();
  const c = ui.c;
  const t = r.started.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const counts = `${r.counts.ran} ran, ${r.counts.cached} cached, ${r.counts.failed} failed, ${r.counts.skipped} skipped`;
  ui.out(`${c.bold(`run #${r.id}`)}${r.variant !== undefined ? ` (variant ${r.variant})` : ''}  ${t}  ${r.ok ? c.green('ok') : c.red('failed')}  ${counts} in ${fmtMs(r.ms)}  ${c.dim(`${r.pipeline} (${r.file}), jobs ${r.jobs}: repro ${r.argv.join(' ')}`)}`);
  ui.out('');
  const rows = r.nodes.map((n) => [n.id, n.kind, n.status, n.status === 'skipped' ? '' : fmtMs(n.ms), n.error ? '' : n.reason, n.error ?? '']);
  const hasError = r.nodes.some((n) => n.error);
  const header = ['node', 'kind', 'status', 'time', 'reason', ...(hasError ? ['error'] : [])];
  const text = formatTextTable(header, hasError ? rows : rows.map((x) => x.slice(0, 5)), new Set([3]));
  // colour the status column after alignment (escape codes would count as width): it starts after the padded node and kind cells
  const lines = text.trimEnd().split('\n');
  const w0 = Math.max(...[header[0]!, ...r.nodes.map((n) => n.id)].map(displayWidth));
  const w1 = Math.max(...[header[1]!, ...r.nodes.map((n) => n.kind)].map(displayWidth));
  r.nodes.forEach((n, i) => {
    const at = padDisplay(n.id, w0).length + 2 + padDisplay(n.kind, w1).length + 2;
    const l = lines[i + 2]!;
    if (l.slice(at, at + n.status.length) === n.status) lines[i + 2] = l.slice(0, at) + paintStatus(c, n.status, n.status) + l.slice(at + n.status.length);
  });
  ui.out(lines.join('\n'));
  for (const n of r.nodes) for (const w of n.warnings) ui.out(c.yellow(`  ! ${n.id}: ${w}`));
  if (withTranscript.length) ui.out(c.dim(`output kept (transcript) for: ${withTranscript.join(', ')} — \`repro log ${r.id} --node ID\``));
  return 0;
}

/** `repro log N --node ID`: one node of run N (status, reason, error) and the transcript its step kept. */
async function logNode(r: import('../history.js').RunRecord, id: string, json: boolean, withTranscript: string[]): Promise<number> {
  const n = r.nodes.find((x) => x.id === id);
  if (!n) {
    const ids = r.nodes.map((x) => x.id);
    throw new UsageError(`repro log: run #${r.id} has no node ${id} (its nodes: ${ids.slice(0, 12).join(', ')}${ids.length > 12 ? `, … (${ids.length - 12} more)` : ''})`);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(n)}\n`);
    return 0;
  }
  const [{ makeUi, fmtMs, paintStatus }] = await Promise.all([import('./ui.js')]);
  const ui = await makeUi();
  const c = ui.c;
  ui.out(`${c.bold(n.id)} (${n.kind}) in run #${r.id}: ${paintStatus(c, n.status, n.status)}${n.status === 'skipped' ? '' : ` in ${fmtMs(n.ms)}`} — ${n.reason}`);
  if (n.error) ui.out(c.red(`error: ${n.error}`));
  for (const w of n.warnings) ui.out(c.yellow(`! ${w}`));
  if (typeof n.transcript === 'string') {
    ui.out(c.dim('--- transcript ---'));
    ui.out(n.transcript.replace(/\n$/, ''));
  } else {
    const why = n.status === 'cached' ? 'it was cached in this run (its step did not run)' : n.status === 'skipped' ? 'it did not run' : 'its step kept none (steps that run external commands, such as `script`, keep their output)';
    ui.out(c.dim(`no transcript: ${why}${withTranscript.length ? `; run #${r.id} has one for ${withTranscript.join(', ')}` : ''}`));
  }
  return 0;
}

export async function cmdGc(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['keep-runs'], bools: ['dry-run', 'verbose', 'json'] }, 'gc');
  const file = pipelineArg(p.positionals, 'gc');
  const keepRuns = intFlag(p, 'keep-runs', 'gc', 0) ?? 5;
  const [{ openSession }, { gcStore }, { fmtBytes }] = await Promise.all([import('../session.js'), import('../gc.js'), import('./ui.js')]);
  const s = await openSession({ file });
  const r = await gcStore(s, { dryRun: p.bools.has('dry-run'), keepRuns, onWait: (pids) => process.stderr.write(`waiting for running repro (pid ${pids.join(', ')})…\n`) });
  if (p.bools.has('json')) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const verb = r.dryRun ? 'would remove' : 'removed';
  process.stdout.write(
    `gc: ${verb} ${r.objectsRemoved} objects and ${r.entriesRemoved} cache entries${r.specsRemoved ? ` (and ${r.specsRemoved} old validated specs)` : ''}${r.corruptRemoved ? ` (and ${r.corruptRemoved} damaged files kept aside in corrupt/)` : ''}, ${r.dryRun ? 'would free' : 'freed'} ${fmtBytes(r.bytesFreed)}; kept ${r.objectsKept} objects (${fmtBytes(r.bytesKept)})\n`,
  );
  return 0;
}
