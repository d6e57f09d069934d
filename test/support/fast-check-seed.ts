// Vitest setup: fast-check runs from a fixed seed (FC_SEED to replay or explore).
import fc from 'fast-check';

// Property tests run from a fixed seed so a run is reproducible and CI never goes red by chance.
// FC_SEED=<n> replays a given seed; FC_SEED=random explores new cases (print the seed fast-check reports on failure).
const requested = process.env.FC_SEED;
if (requested !== 'random') {
  const seed = requested === undefined ? 20_261_126 : Number(requested);
  if (!Number.isSafeInteger(seed))
    throw new Error(`FC_SEED must be an integer or "random", got ${requested}`);
  fc.configureGlobal({ seed });
}
