// Test files run in parallel, four workers on two cores: the emulator tier's files mostly wait (on
// moto, the SDK's backoff, real timeouts), so they overlap the CPU-bound commands and unit tiers.
// npm test lists the emulator tier first, so that its long files start at once.
module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    timeout: 60_000,
    reporter: "spec",
    parallel: true,
    jobs: 4,
};
