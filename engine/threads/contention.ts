/**
 * Whether the pool's workers would have cores to themselves right now. Two threads pay only when
 * each has a core: on a machine whose cores are busy with other processes, a worker that claims a
 * chunk and is then descheduled holds the main thread up for a whole time slice, and a worker that
 * polls takes the slice the main thread needs. Measured on this 2-core machine with the test suite
 * running beside it: two threads ran 0.89× one thread when the worker parked between tasks and
 * 0.51× when it polled. So while other work holds the cores, every task runs on the calling thread
 * (the workers park after SPIN_MS without tasks and cost nothing), and the pool comes back when the
 * cores are free. Which thread computes a value never changes it: this decides speed only.
 *
 * The signal is how many threads of other work are runnable: on Linux the kernel's instantaneous
 * count of runnable threads (the fourth field of /proc/loadavg, "running/total", read every
 * SAMPLE_MS through one open file, about 4 µs) less this process's own running threads (the main
 * thread, and the workers not parked), averaged over the last ~80 milliseconds. Elsewhere
 * (macOS, or a runtime that may not read /proc) it is the 1-minute load average less this process's
 * threads, read every 200 ms: slower, but it needs nothing. An earlier rule compared the load average
 * with the cores plus 0.5 in the worker: the average counts the process's own two threads, so any
 * other load at all made the worker park and pay a futex wake-up per task.
 */
import { nodeBuiltin } from '../node.js';

/** How often the count is read on Linux. */
const SAMPLE_MS = 4;
/** How often the load average is read where /proc/loadavg is not. */
const LOADAVG_MS = 200;
/**
 * Weight of a new sample in the running average: a time constant of about 20 samples, 80 ms, so that
 * a burst of this process's own background threads (V8 compiling and collecting, most of all in the
 * first second) does not stop the pool, while a process that keeps a core busy does within ~150 ms.
 */
const WEIGHT = 0.05;
/**
 * Hysteresis, in runnable threads of other work beyond what leaves each worker a core: the pool stops
 * above ENTER, resumes below LEAVE. (While it is stopped its workers are parked, so the count then
 * sees the other work alone.) An idle machine is not quite idle: training alone on two threads here,
 * the count read 1 more than ours 14% of the time and 2 or more 4% (V8's own helper threads, the
 * system's), about 0.25 on average with bursts; a process that wants a core all the time reads 1.
 */
const ENTER = 0.8;
const LEAVE = 0.5;

/** A reading: runnable threads right now, whole machine (the reader's own thread included); null if unreadable. */
export type RunnableReader = () => number | null;

export class CoreWatch {
  private others = 0;
  private contended = false;
  private sampledAt = -Infinity;
  /** Switches between the two states since made (the tests read it). */
  switches = 0;

  /**
   * `cores`: the machine's; `workers`: the pool's; `read`: the instantaneous count (null: none on
   * this system, use `loadAverage`); `loadAverage`: the 1-minute load average.
   */
  constructor(
    private readonly cores: number,
    private readonly workers: number,
    private readonly read: RunnableReader | null,
    private readonly loadAverage: () => number,
  ) {}

  /**
   * Whether a task may go to the pool at time `now` (ms), when `ours` of this process's threads are
   * running (the caller and the workers that are not parked).
   */
  allows(now: number, ours: number): boolean {
    const every = this.read === null ? LOADAVG_MS : SAMPLE_MS;
    if (now - this.sampledAt < every) return !this.contended;
    this.sampledAt = now;
    const runnable = this.read?.() ?? null;
    const sample = runnable === null ? this.loadAverage() : runnable;
    const others = Math.max(0, sample - ours);
    // The average starts at 0 (no other work known): the first reading is one sample, not the verdict.
    this.others = this.read === null ? others : this.others + WEIGHT * (others - this.others);
    // Other work the cores can hold while the main thread and every worker keep one each.
    const excess = this.others - Math.max(0, this.cores - 1 - this.workers);
    const contended = this.contended ? excess > LEAVE : excess > ENTER;
    if (contended !== this.contended) this.switches++;
    this.contended = contended;
    return !contended;
  }
}

/**
 * The runnable-thread count of Linux's /proc/loadavg, through one file descriptor kept open (a
 * positioned read of a proc file regenerates it); null where there is no such file or it cannot be read.
 */
export function procRunnableReader(): RunnableReader | null {
  const fs = nodeBuiltin('node:fs');
  if (fs === null) return null;
  let fd: number;
  const buf = new Uint8Array(128);
  try {
    fd = fs.openSync('/proc/loadavg', 'r');
  } catch {
    return null;
  }
  const read = (): number | null => {
    try {
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      // "0.28 0.08 0.02 3/195 12870": the fourth field's numerator.
      let i = 0;
      for (let spaces = 0; i < n && spaces < 3; i++) if (buf[i] === 32) spaces++;
      let running = 0;
      let digits = 0;
      for (; i < n && buf[i] >= 48 && buf[i] <= 57; i++, digits++) running = running * 10 + buf[i] - 48;
      return digits > 0 && buf[i] === 47 ? running : null;
    } catch {
      return null;
    }
  };
  return read() === null ? null : read;
}
