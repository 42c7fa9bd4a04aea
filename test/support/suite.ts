// uvu's suite, with one difference: an error thrown in a before() hook is printed. uvu's runner
// returns from a `finally` around its before hooks and tests, which swallows that error: the file
// then reports every test failed ("0 / 4") and says nothing of why (seen in a cold CI run, where
// a cluster start failed under load). Every test file imports `suite` from here.
import { suite as uvuSuite, type Callback, type Test } from 'uvu';

export function suite<T = Record<string, unknown>>(title?: string, context?: T): Test<T> {
  const s = uvuSuite<T>(title, context);
  const before = s.before;
  const said =
    (hook: Callback<T>): Callback<T> =>
    async (ctx) => {
      try {
        await hook(ctx);
      } catch (err) {
        process.stderr.write(`\n   FAIL  ${title ?? ''}  before(): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        throw err;
      }
    };
  s.before = Object.assign(
    (hook: Callback<T>) => {
      before(said(hook));
    },
    {
      each: (hook: Callback<T>) => {
        before.each(said(hook));
      },
    },
  );
  return s;
}
