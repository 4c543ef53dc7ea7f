// Test files run in parallel, four workers on two cores: the emulator tier's files mostly wait (on
// moto, the SDK's backoff, real timeouts), so they overlap the CPU-bound commands and unit tiers.
// npm test names its two longest CPU-bound files first, then the emulator tier, so that the long
// files start at once (tests/commands/test-scripts.test.ts checks that every file runs once).
module.exports = {
    require: ["./commands/register.cjs"],
    extension: ["ts"],
    timeout: 60_000,
    reporter: "spec",
    parallel: true,
    jobs: 4,
};
