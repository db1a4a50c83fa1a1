// Setup of mutation runs only (vitest.mutation.config.ts): the pipeline runs inline. Stryker turns
// a mutant on, and records which tests reach it, through globals of the test's own thread; a
// worker thread has globals of its own, so code the pipeline ran there was never mutated and
// counted as covered by no test. Hiding worker_threads from the sdk's pool (which reaches it
// through process.getBuiltinModule) makes every pool an inline runner.
const getBuiltinModule = process.getBuiltinModule.bind(process);
process.getBuiltinModule = ((id: string) =>
  id === "node:worker_threads" || id === "worker_threads"
    ? undefined
    : getBuiltinModule(id)) as typeof process.getBuiltinModule;
