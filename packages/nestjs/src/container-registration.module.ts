/**
 * Blocks Nest's bootstrap on RegisterUsage: the registration is an async provider, so `NestFactory.create()` does not
 * resolve (and the app never listens) until AWS has registered this container, and rejects when it must not start.
 */
import {
  type ContainerRegistration,
  type RegisterContainerOptions,
  registerContainer,
} from '@meterkit/aws-marketplace';
import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';

/** Injection token of the {@link ContainerRegistration} outcome. */
export const CONTAINER_REGISTRATION = Symbol('ContainerRegistration');

/** Options of {@link ContainerRegistrationModule.forRootAsync}. */
export interface ContainerRegistrationAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...deps: never[]) => RegisterContainerOptions | Promise<RegisterContainerOptions>;
  inject?: unknown[];
}

/**
 * Registers a paid container with RegisterUsage before the app starts.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     ContainerRegistrationModule.forRoot({ productCode: 'prod-abc123', verificationKey: awsPublicKeyPem }),
 *     MeteringModule.forRoot({ sink: new MeterUsageSink({ productCode: 'prod-abc123' }), productCode: 'prod-abc123' }),
 *   ],
 * })
 * export class AppModule {}
 * ```
 * Bootstrap rejects with `ContainerRegistrationError` when the container must not start (unless `failOpen`).
 */
@Module({})
export class ContainerRegistrationModule {
  static forRoot(options: RegisterContainerOptions): DynamicModule {
    return {
      module: ContainerRegistrationModule,
      global: true,
      providers: [{ provide: CONTAINER_REGISTRATION, useFactory: () => registerContainer(options) }],
      exports: [CONTAINER_REGISTRATION],
    };
  }

  static forRootAsync(options: ContainerRegistrationAsyncOptions): DynamicModule {
    return {
      module: ContainerRegistrationModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: CONTAINER_REGISTRATION,
          useFactory: async (...deps: never[]): Promise<ContainerRegistration> =>
            registerContainer(await options.useFactory(...deps)),
          inject: (options.inject ?? []) as never[],
        },
      ],
      exports: [CONTAINER_REGISTRATION],
    };
  }
}
