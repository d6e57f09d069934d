// The operator routes the `meterkit --url` CLI talks to (status, dead letters, requeue, audit, flush), token-checked.
import { MeteringEngine } from '@meterkit/core';
import { type AdminApi, type AdminApiOptions, createAdminApi } from '@meterkit/core/ops';
import {
  Body,
  Controller,
  type DynamicModule,
  Get,
  Headers,
  HttpCode,
  HttpException,
  Inject,
  Module,
  Post,
  Query,
  type Type,
} from '@nestjs/common';

/** Options of {@link MeteringAdminModule.forRoot}. */
export interface MeteringAdminOptions extends AdminApiOptions {
  /** Where the routes are mounted. @default '_meterkit' */
  path?: string;
}

const METERING_ADMIN_API = Symbol('METERING_ADMIN_API');

function adminController(path: string): Type {
  @Controller(path)
  class MeteringAdminController {
    constructor(@Inject(METERING_ADMIN_API) private readonly api: AdminApi) {}

    async #answer(
      method: string,
      route: string,
      authorization: string | undefined,
      query: object,
      body?: unknown,
    ) {
      const answer = await this.api({
        method,
        path: route,
        authorization,
        query: query as Record<string, unknown>,
        body,
      });
      if (answer.status !== 200) throw new HttpException(answer.body as object, answer.status);
      return answer.body;
    }

    @Get('status')
    status(@Headers('authorization') auth: string | undefined, @Query() query: object) {
      return this.#answer('GET', '/status', auth, query);
    }

    @Get('dead-letters')
    deadLetters(@Headers('authorization') auth: string | undefined, @Query() query: object) {
      return this.#answer('GET', '/dead-letters', auth, query);
    }

    @Post('dead-letters/requeue')
    @HttpCode(200)
    requeue(@Headers('authorization') auth: string | undefined, @Body() body: unknown) {
      return this.#answer('POST', '/dead-letters/requeue', auth, {}, body);
    }

    @Get('audit')
    audit(@Headers('authorization') auth: string | undefined, @Query() query: object) {
      return this.#answer('GET', '/audit', auth, query);
    }

    @Post('flush')
    @HttpCode(200)
    flush(@Headers('authorization') auth: string | undefined) {
      return this.#answer('POST', '/flush', auth, {});
    }
  }
  return MeteringAdminController;
}

/**
 * Mounts the operator routes for `npx meterkit --url <app>/_meterkit --token …` (apps on the memory store; with the
 * SQLite or Redis store the CLI opens the store itself). Every request must carry `Authorization: Bearer <token>`.
 * Import it next to `MeteringModule`.
 *
 * @example
 * ```ts
 * imports: [MeteringModule.forRoot({ … }), MeteringAdminModule.forRoot({ token: process.env.METERKIT_ADMIN_TOKEN! })]
 * ```
 * @throws {MeteringConfigurationError} at start-up when the token is missing or shorter than 24 characters.
 */
@Module({})
export class MeteringAdminModule {
  static forRoot(options: MeteringAdminOptions): DynamicModule {
    const { path = '_meterkit', ...api } = options;
    return {
      module: MeteringAdminModule,
      controllers: [adminController(path)],
      providers: [
        {
          provide: METERING_ADMIN_API,
          inject: [MeteringEngine],
          useFactory: (engine: MeteringEngine) => createAdminApi(engine, api),
        },
      ],
    };
  }
}
