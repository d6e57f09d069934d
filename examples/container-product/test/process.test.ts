import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Emulator, startEmulator } from '@meterkit/emulator';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const PRODUCT = 'prod-meterkit-container';

/** The child's environment: nothing of the parent's AWS settings, plus `extra`. */
function envWith(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
  return { ...env, PORT: '0', ...extra };
}

/** Settings pointing the container at `emulator`, as a deployment points it at AWS: environment variables only. */
function awsEnv(emulator: Emulator): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_MARKETPLACE_METERING: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDTASKCHILD',
    AWS_SECRET_ACCESS_KEY: 'child-secret',
    AWS_REGION: 'us-east-1',
    METERKIT_VERIFICATION_KEY: emulator.publicKey.pem,
  };
}

interface Child {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const state: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on('data', (chunk) => {
    state.stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    state.stderr += chunk;
  });
  return state;
}

/** Resolves with the URL once the child listens; rejects if it exits first. */
async function listening(child: Child): Promise<string> {
  for (;;) {
    const match = /listening on (http:\/\/\S+)/.exec(child.stdout);
    if (match) return match[1] as string;
    if (child.process.exitCode !== null) throw new Error(`exited before listening: ${child.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let emulator: Emulator | undefined;
let child: Child | undefined;
beforeAll(async () => {
  await promisify(execFile)(
    process.execPath,
    [`${root}node_modules/typescript/bin/tsc`, '-b', 'examples/container-product'],
    {
      cwd: root,
    },
  );
}, 120_000);
afterEach(async () => {
  if (child?.process.exitCode === null) child.process.kill('SIGKILL');
  await child?.exited;
  child = undefined;
  await emulator?.close();
  emulator = undefined;
});

describe('the container example as a process', () => {
  it('starts against its in-process emulator by default and exits cleanly on SIGTERM', async () => {
    child = run(envWith({}));
    const url = await listening(child);
    expect((await fetch(`${url}/v1/jobs`, { method: 'POST' })).status).toBe(201);
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(child.stdout).toMatch(/SIGTERM: drained \(1 record\(s\) accepted\)/);
  });

  it('exits with status 1 before listening when the buyer is not entitled', async () => {
    emulator = await startEmulator({
      port: 0,
      products: [{ productCode: PRODUCT, dimensions: ['jobs'], entitled: false }],
    });
    child = run(envWith(awsEnv(emulator)));
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(child.stderr).toMatch(/not starting: RegisterUsage: the buyer is not entitled/);
    expect(child.stdout).not.toMatch(/listening/);
    expect(emulator.ledger.calls().map((c) => c.operation)).toEqual(['RegisterUsage']);
  });

  it('sends its hour once on SIGTERM although the first answers are lost or fail', async () => {
    emulator = await startEmulator({
      port: 0,
      products: [{ productCode: PRODUCT, dimensions: ['jobs'] }],
      faults: { quota: false },
    });
    child = run(envWith(awsEnv(emulator)));
    const url = await listening(child);
    for (let i = 0; i < 4; i++) expect((await fetch(`${url}/v1/jobs`, { method: 'POST' })).status).toBe(201);
    // The worst moment: the records go out during shutdown, and the first answers never arrive.
    emulator.control.scheduleFaults(
      { fault: 'drop-response', operation: 'MeterUsage', count: 1 },
      { fault: 'internal-error', operation: 'MeterUsage', count: 1 },
    );
    child.process.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
    const billed = emulator.ledger.records();
    expect(billed.map((r) => [r.operation, r.dimension, r.quantity, r.conflictingResends])).toEqual([
      ['MeterUsage', 'jobs', 4, 0],
    ]);
    const sends = emulator.ledger.calls().filter((c) => c.operation === 'MeterUsage');
    // The dry run, then the 5xx and the lost answer (in the emulator's order), then the resend that went through.
    expect(sends.map((c) => c.fault ?? c.errorType ?? 'ok')).toEqual([
      'DryRunOperation',
      expect.stringMatching(/^(internal-error|drop-response)$/),
      expect.stringMatching(/^(internal-error|drop-response)$/),
      'ok',
    ]);
    expect(new Set(sends.slice(1, 3).map((c) => c.fault))).toEqual(
      new Set(['internal-error', 'drop-response']),
    );
  });
});
