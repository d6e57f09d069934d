/** A test helper that returns the configuration error a call throws, to assert on its code and field. */
import { MeteringConfigurationError } from '../model/errors.js';

/**
 * Runs `run` and returns the `MeteringConfigurationError` it throws, so a test can assert on its `code`, `field` and
 * message. Any other error is rethrown; no error at all fails the test.
 */
export function configurationErrorOf(run: () => unknown): MeteringConfigurationError {
  try {
    run();
  } catch (error) {
    if (error instanceof MeteringConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a MeteringConfigurationError');
}
