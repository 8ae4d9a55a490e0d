/**
 * `npm run bench:chaos -- [--minutes 30] [--mode redis|postgres|both] [--seed N] [--travellers 25]
 * [--vans 2] [--rate 10] [--keep-logs DIR]`: the chaos run of test/chaos (PAM as deployed, on a
 * PostgreSQL and a Redis of its own, under seeded faults), 30 minutes per mode by default. Prints
 * the faults, writes, retries and write→alert p50/p99 (quiet and under faults) with the conditions
 * (Node, CPUs, load average), and each invariant PASS or FAIL with its figures; exits 1 on a FAIL.
 */
import { chaosMain } from '../test/chaos/cli.js'

await chaosMain(process.argv.slice(2), { minutes: 30 })
