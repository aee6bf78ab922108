/**
 * Setup file of the `portable` test project: the runtime hands out every built-in module but
 * `node:crypto`, as Workers without `nodejs_compat` do, so the SDK loaded after it signs with
 * its portable digests.
 */
const original = process.getBuiltinModule.bind(process)
process.getBuiltinModule = ((id: string) =>
  id === "node:crypto" || id === "crypto" ? undefined : original(id)) as typeof process.getBuiltinModule
