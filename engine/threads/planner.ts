/**
 * Per product shape, whether the pool has been paying off. Two threads only help if the machine
 * gives this process two cores; on a busy one they can be slower than one (the same two vCPUs are
 * shared with other work, see benchmarks/capacity.ts). Training repeats the same few shapes every
 * step, so each shape is simply timed both ways — the first PROBE calls of each kind, then two
 * calls every REPROBE — and runs the faster way in between, like FFTW's planner. Either way gives
 * the same bits, so the choice only ever changes speed.
 */
interface Plan {
  calls: number;
  poolMs: number; // moving averages of the timed calls
  singleMs: number;
  usePool: boolean;
}

const PROBE = 6;
const REPROBE = 500;

export class Planner {
  private readonly plans = new Map<string, Plan>();

  clear(): void {
    this.plans.clear();
  }

  /**
   * Runs one call of shape `key` on the pool or alone, as the plan says, timing it when the plan is
   * probing. `run(true)` runs on the pool, `run(false)` on the calling thread.
   */
  run(key: string, run: (usePool: boolean) => void): void {
    let plan = this.plans.get(key);
    if (plan === undefined) {
      plan = { calls: 0, poolMs: 0, singleMs: 0, usePool: true };
      this.plans.set(key, plan);
    }
    const call = plan.calls++;
    // Call 0 warms both paths up untimed; then PROBE timed calls of each kind, alternating; then two
    // timed calls (one of each) every REPROBE calls.
    let usePool = plan.usePool;
    let timed = false;
    if (call === 0) {
      usePool = true;
    } else if (call <= 2 * PROBE) {
      usePool = call % 2 === 1;
      timed = true;
    } else if (call % REPROBE < 2) {
      usePool = call % REPROBE === 0;
      timed = true;
    }
    const t0 = timed ? performance.now() : 0;
    run(usePool);
    if (timed) {
      const ms = performance.now() - t0;
      if (usePool) plan.poolMs = plan.poolMs === 0 ? ms : 0.7 * plan.poolMs + 0.3 * ms;
      else plan.singleMs = plan.singleMs === 0 ? ms : 0.7 * plan.singleMs + 0.3 * ms;
      if (plan.poolMs > 0 && plan.singleMs > 0) plan.usePool = plan.poolMs < plan.singleMs;
    }
  }
}
