/**
 * StepDef.tasksModule: pool workers that only run a step's ctx.map chunks import that lighter module
 * instead of the step, so it must export the very task functions the step's `tasks` holds (else a
 * worker would run other code than the main thread would). Checked for every registered step.
 */
import { describe, expect, it } from 'vitest';
import { registry } from '../../steps/index.js';
import { PROJECT_ROOT } from '../../engine/paths.js';
import { taskOfModule } from '../../engine/types.js';
import path from 'node:path';

describe('tasksModule of the registered steps', () => {
  it('exports the same functions as the step\'s tasks, by name', async () => {
    let checked = 0;
    for (const [kind, entry] of Object.entries(registry)) {
      const def = await entry.load();
      if (!def.tasksModule) continue;
      expect(def.tasks, `${kind}: tasksModule without tasks`).toBeDefined();
      const mod = (await import(path.join(PROJECT_ROOT, def.tasksModule))) as Record<string, unknown>;
      for (const [fn, f] of Object.entries(def.tasks!)) {
        expect(taskOfModule(mod, fn, def.tasksModule), `${kind}.${fn}`).toBe(f);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0); // the placebo's replicates at least
  });
});

describe('cpu and tasksModule of the registry entries (steps/index.ts)', () => {
  it('match the step definitions, so a run that skips importing a cpu step on the main thread treats it as the step says', async () => {
    const cpu: string[] = [];
    for (const [kind, entry] of Object.entries(registry)) {
      const def = await entry.load();
      expect(!!entry.cpu, `${kind}: registry cpu vs the step's`).toBe(!!def.cpu);
      expect(entry.tasksModule, `${kind}: registry tasksModule vs the step's`).toBe(def.tasksModule);
      if (def.cpu) cpu.push(kind);
    }
    expect(cpu).toContain('placebo');
    expect(cpu).toContain('estimate');
  });
});
