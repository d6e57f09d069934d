/** The Nest side of AWS Marketplace registration: a module that answers the buyer's form POST at a path. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createRegistrationHandler,
  type RegistrationHandler,
  type RegistrationListener,
  type RegistrationRouteOptions,
} from '@meterkit/aws-marketplace';
import {
  type CustomerRef,
  MeteringConfigurationError,
  MeteringEngine,
  type SubscriptionState,
} from '@meterkit/core';
import {
  type DynamicModule,
  Inject,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  type OnModuleDestroy,
  type OnModuleInit,
  RequestMethod,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';

/** Injection token of the registration handler {@link RegistrationModule} built. */
export const REGISTRATION_HANDLER = Symbol('REGISTRATION_HANDLER');
const REGISTRATION_PATH = Symbol('REGISTRATION_PATH');
const REGISTRATION_ENGINE = Symbol('REGISTRATION_ENGINE');

/**
 * The engine the handler tells about new buyers, found when the app starts: the handler is built in `forRoot`, before
 * Nest has created `MeteringModule`'s engine.
 */
class EngineOfTheApp implements RegistrationListener {
  target: RegistrationListener | undefined;
  subscriptionStateOf(customer: CustomerRef): SubscriptionState | undefined {
    return this.target?.subscriptionStateOf(customer);
  }
  async applySubscriptionChange(
    customer: CustomerRef,
    state: SubscriptionState,
    source?: string,
  ): Promise<void> {
    await this.target?.applySubscriptionChange(customer, state, source);
  }
}

/**
 * Options of {@link RegistrationModule.forRoot}. `onRegistered(customer, req, res)` gets the platform's request and
 * response (on `@nestjs/platform-express`, Express's).
 */
export interface RegistrationModuleOptions<
  Req extends IncomingMessage = IncomingMessage,
  Res extends ServerResponse = ServerResponse,
> extends Omit<RegistrationRouteOptions<Req, Res>, 'engine'> {
  /**
   * The metering engine told about each new buyer (state `registered`: usage held until `subscribe-success`).
   * @default the engine of the app's `MeteringModule`, when there is one; `false` tells no engine
   */
  engine?: RegistrationListener | false;
  /** The path of your registration URL (the listing's fulfillment URL), without the global prefix. @default 'marketplace/register' */
  path?: string;
}

/**
 * Answers AWS Marketplace's registration POST (see `createRegistrationHandler` in `@meterkit/aws-marketplace`):
 * resolves the token, checks the product, stores the buyer in `registry` and calls `onRegistered(customer, req, res)`.
 * Mounted as a middleware on `POST path`, so it takes the form Nest's body parser read (or reads it itself, bounded
 * by `maxBodyBytes`). Tested on `@nestjs/platform-express` and `@nestjs/platform-fastify`.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     RegistrationModule.forRoot({
 *       registry, productCodes: 'prod-abc',
 *       onRegistered: (customer, req, res) => res.writeHead(303, { location: '/signup' }).end(),
 *     }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 * @throws {MeteringConfigurationError} from `forRoot`, for invalid options.
 */
@Module({})
export class RegistrationModule implements NestModule, OnModuleInit, OnModuleDestroy {
  constructor(
    @Inject(REGISTRATION_HANDLER) private readonly handler: RegistrationHandler,
    @Inject(REGISTRATION_PATH) private readonly path: string,
    @Inject(REGISTRATION_ENGINE) private readonly engineOfTheApp: EngineOfTheApp | null,
    private readonly moduleRef: ModuleRef,
  ) {}

  onModuleInit(): void {
    if (this.engineOfTheApp === null) return;
    try {
      // MeteringModule is not global: look its engine up anywhere in the app.
      this.engineOfTheApp.target = this.moduleRef.get<RegistrationListener>(MeteringEngine, {
        strict: false,
      });
    } catch {
      // No MeteringModule in this app: no engine to tell.
    }
  }

  static forRoot<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse>(
    options: RegistrationModuleOptions<Req, Res>,
  ): DynamicModule {
    const {
      path = 'marketplace/register',
      engine,
      ...route
    } = options ?? ({} as RegistrationModuleOptions<Req, Res>);
    if (typeof path !== 'string' || path.length === 0) {
      throw new MeteringConfigurationError(
        'ERR_METERING_INVALID_OPTION',
        'RegistrationModule.path',
        `RegistrationModule: option \`path\` is ${JSON.stringify(path)}, but it must be a non-empty path.`,
      );
    }
    // Built here, so a bad option fails while the module is declared, before the app listens.
    const engineOfTheApp = engine === undefined ? new EngineOfTheApp() : undefined;
    const told = engine === false ? undefined : (engine ?? engineOfTheApp);
    const handler = createRegistrationHandler<Req, Res>({
      ...route,
      ...(told !== undefined && { engine: told }),
    });
    return {
      module: RegistrationModule,
      providers: [
        { provide: REGISTRATION_HANDLER, useValue: handler },
        { provide: REGISTRATION_ENGINE, useValue: engineOfTheApp ?? null },
        { provide: REGISTRATION_PATH, useValue: path.replace(/^\/+/, '') },
      ],
      exports: [REGISTRATION_HANDLER],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    const handler = this.handler;
    consumer
      .apply((req: IncomingMessage, res: ServerResponse) => {
        void handler(req, res);
      })
      .forRoutes({ path: this.path, method: RequestMethod.POST });
  }

  onModuleDestroy(): void {
    this.handler.close();
  }
}
