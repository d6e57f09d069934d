/**
 * The container product: registers with RegisterUsage before it listens, checks MeterUsage with a dry run, then meters
 * each job it runs; one MeterUsage record per hour carries the hour's total.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ContainerRegistration,
  MeterUsageSink,
  type RegisterContainerOptions,
  registerContainer,
} from '@meterkit/aws-marketplace';
import type { Clock, MeteringLogger, Timers } from '@meterkit/core';
import { type Emulator, type EmulatorOptions, startEmulator } from '@meterkit/emulator';
import { createMetering, type ExpressMetering } from '@meterkit/express';
import express from 'express';
import type { ContainerConfig } from './config.js';

/** The example, listening. */
export interface RunningContainer {
  readonly server: Server;
  readonly url: string;
  readonly metering: ExpressMetering;
  readonly registration: ContainerRegistration;
  /** The in-process emulator, when no AWS configuration was found. */
  readonly emulator: Emulator | undefined;
  /** Stops serving, sends what was counted, and stops the emulator if this process started it. */
  stop(): Promise<void>;
}

/** Test seams: the engine's clock and timers, and the in-process emulator's settings. */
export interface ContainerSeams {
  readonly clock?: Clock & Timers;
  readonly emulator?: EmulatorOptions;
  readonly logger?: MeteringLogger;
}

/** Fake credentials for the in-process emulator; nothing is billed. */
const EMULATOR_CREDENTIALS = {
  accessKeyId: 'AKIDMETERKITCONTAINER',
  secretAccessKey: 'meterkit-example-not-a-secret',
};

/**
 * Registers, checks, and starts serving on `config.port` (0 picks a free port).
 * @throws {ContainerRegistrationError} when RegisterUsage says this container must not run.
 * @throws {InstanceMeteringError} when the MeterUsage dry run is refused.
 */
export async function startContainer(
  config: ContainerConfig,
  log: (line: string) => void,
  seams: ContainerSeams = {},
): Promise<RunningContainer> {
  let emulator: Emulator | undefined;
  let clientConfig: RegisterContainerOptions['clientConfig'];
  let verificationKey = config.verificationKeyPem;
  if (config.useEmulator) {
    emulator = await startEmulator({
      port: 0,
      publicKeyVersion: config.publicKeyVersion,
      products: [{ productCode: config.productCode, dimensions: [config.dimension] }],
      ...(seams.clock !== undefined && { now: () => seams.clock!.now() }),
      ...seams.emulator,
    });
    // AWS_REGION is never assumed in production code; the emulator is told the region its fake credentials sign for.
    clientConfig = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: EMULATOR_CREDENTIALS };
    verificationKey ??= emulator.publicKey.pem;
    log(
      `no AWS configuration: registering and metering against an in-process emulator at ${emulator.endpoint}`,
    );
  }
  try {
    // 1. RegisterUsage before anything else; throws when the container must not start.
    const registration = await registerContainer({
      productCode: config.productCode,
      publicKeyVersion: config.publicKeyVersion,
      ...(verificationKey !== undefined && { verificationKey }),
      failOpen: config.failOpen,
      ...(clientConfig !== undefined && { clientConfig }),
      ...(seams.logger !== undefined && { logger: seams.logger }),
    });
    log(`registered (${registration.status})`);

    // 2. The instance sink, and a dry run proving the credentials may call MeterUsage.
    const sink = new MeterUsageSink({
      ...(clientConfig !== undefined && { clientConfig }),
      ...(seams.logger !== undefined && { logger: seams.logger }),
      ...(seams.clock !== undefined && { now: () => seams.clock!.now() }),
    });
    await sink.dryRun({ productCode: config.productCode, dimension: config.dimension });

    // 3. Metering: no customer resolver, every job belongs to this task or pod.
    const metering = createMetering({
      sink,
      // MeterUsage meters per task or pod: a restarted container is a new instance whose hour AWS takes afresh, so the
      // memory store (which sends the partial hour at shutdown) loses nothing here, and needs no disk.
      store: 'memory',
      productCode: config.productCode,
      dimensions: [config.dimension],
      ...(seams.clock !== undefined && { clock: seams.clock, timers: seams.clock }),
      ...(seams.logger !== undefined && { logger: seams.logger }),
    });
    await metering.start();

    const app = express();
    app.get('/health', (_req, res) => void res.json({ status: 'ok', metering: sink.health() }));
    app.post('/v1/jobs', metering.meter(config.dimension), (_req, res) => {
      res.status(201).json({ accepted: true });
    });
    const server = app.listen(config.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const { port } = server.address() as AddressInfo;
    return {
      server,
      url: `http://127.0.0.1:${port}`,
      metering,
      registration,
      emulator,
      async stop() {
        await metering.shutdown({ server });
        await emulator?.close();
      },
    };
  } catch (error) {
    await emulator?.close();
    throw error;
  }
}
