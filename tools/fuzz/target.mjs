// Runs one fuzz target in this process: node target.mjs <name> <count> <seed>. run.mjs starts
// one of these per target, so a crash or a hang of one target is seen from outside.
const [name, count, seed] = process.argv.slice(2)
const target = await import(new URL(`./targets/${name}.mjs`, import.meta.url))
await target.run(Number(count), Number(seed))
