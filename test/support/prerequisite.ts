/**
 * @module prerequisite
 * One rule for tests that need something outside the repository (Chromium, a PostgreSQL URL,
 * Redis, a binary): on a laptop without it the suite says so loudly and skips; in CI (`CI` set,
 * as `.ci/run` does) a missing prerequisite is a failing test, never a silent pass.
 */
export function describeWhen(available: boolean, what: string): jest.Describe {
  if (available) return describe;
  const reason = `${what} is missing`;
  if (process.env.CI) {
    return ((name: string) => describe(name, () => {
      it(`needs ${what}`, () => { throw new Error(`${reason}; CI must provide it (.ci/run installs it)`); });
    })) as unknown as jest.Describe;
  }
  console.warn(`\n*** NOT RUN: ${reason} ***\n`);
  return describe.skip;
}
