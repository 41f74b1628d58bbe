/**
 * Memory and CPU of a process from Linux's /proc: resident set (`VmRSS`), its peak (`VmHWM`),
 * and user + system CPU time in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
 *
 * @module
 */

/** The `/proc/<pid>/status` fields the footprint benchmark reports, in bytes. */
export interface MemoryStatus {
  rss: number;
  /** Peak resident set since the process started. */
  hwm: number;
  /** Anonymous (heap, stacks) and file-backed (the mapped executable) parts of `rss`. */
  rssAnon: number;
  rssFile: number;
}

/** One reading of a process. */
export interface ProcessSample extends MemoryStatus {
  /** User + system CPU time so far, in clock ticks. */
  cpuTicks: number;
  /** `performance.now()` when read. */
  at: number;
}

function kib(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  if (!m) throw new SyntaxError(`/proc status: no "${field}" line`);
  return Number(m[1]) * 1024;
}

/**
 * Parse `/proc/<pid>/status`.
 *
 * @example
 * ```ts
 * parseStatus("VmHWM:\t 52748 kB\nVmRSS:\t 51380 kB\nRssAnon:\t 15560 kB\nRssFile:\t 35820 kB\n").rss;
 * // 52613120
 * ```
 */
export function parseStatus(text: string): MemoryStatus {
  return {
    rss: kib(text, "VmRSS"),
    hwm: kib(text, "VmHWM"),
    rssAnon: kib(text, "RssAnon"),
    rssFile: kib(text, "RssFile"),
  };
}

/**
 * User + system CPU ticks from `/proc/<pid>/stat`. The command name (field 2) is in parentheses
 * and may itself contain spaces and parentheses, so fields are counted from the last `)`.
 *
 * @example
 * ```ts
 * parseCpuTicks("42 (deno) S 1 42 42 0 -1 4194560 100 0 0 0 37 12 0 0 20 0 7 0"); // 49
 * ```
 */
export function parseCpuTicks(text: string): number {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new SyntaxError("/proc stat: no command name in parentheses");
  // After ") " come field 3 (state) onwards; utime and stime are fields 14 and 15.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) {
    throw new SyntaxError(`/proc stat: utime/stime not integers in ${JSON.stringify(text)}`);
  }
  return utime + stime;
}

/**
 * Read a file under /proc. Deno 2.9 grants /proc only with `--allow-all`; under the narrower
 * flags of `deno task bench` (which include `--allow-run`) the file is read through `cat`.
 *
 * @example
 * ```ts
 * const cpuinfo = await readProcFile("/proc/cpuinfo");
 * ```
 */
export async function readProcFile(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
  }
  const out = await new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new Deno.errors.NotFound(`${path}: ${why || `cat exited ${out.code}`}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Read one sample of process `pid`. Throws NotFound once the process is gone.
 *
 * @example
 * ```ts
 * const before = await sampleProcess(pid);
 * ```
 */
export async function sampleProcess(pid: number): Promise<ProcessSample> {
  const [status, stat] = await Promise.all([
    readProcFile(`/proc/${pid}/status`),
    readProcFile(`/proc/${pid}/stat`),
  ]);
  return { ...parseStatus(status), cpuTicks: parseCpuTicks(stat), at: performance.now() };
}

/**
 * The share of one core used between two samples, in percent.
 *
 * @example
 * ```ts
 * cpuPercent({ cpuTicks: 100, at: 0 }, { cpuTicks: 115, at: 60_000 }, 100); // 0.25
 * ```
 */
export function cpuPercent(
  before: Pick<ProcessSample, "cpuTicks" | "at">,
  after: Pick<ProcessSample, "cpuTicks" | "at">,
  ticksPerSecond: number,
): number {
  const seconds = (after.at - before.at) / 1000;
  if (!(seconds > 0)) throw new RangeError("cpuPercent: samples must be in time order");
  return (after.cpuTicks - before.cpuTicks) / ticksPerSecond / seconds * 100;
}

/**
 * Clock ticks per second (`getconf CLK_TCK`); 100, the Linux default, when getconf is missing.
 *
 * @example
 * ```ts
 * const hz = await clockTicksPerSecond();
 * ```
 */
export async function clockTicksPerSecond(): Promise<number> {
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    const hz = Number(new TextDecoder().decode(out.stdout).trim());
    if (out.success && Number.isInteger(hz) && hz > 0) return hz;
  } catch {
    // No getconf: fall through to the kernel's usual value.
  }
  return 100;
}

/**
 * The pids in `ps -eo pid=,args=` output whose command line contains `needle`.
 *
 * @example
 * ```ts
 * pidsMatching("  12 deno run main.ts\n  13 bash\n", "main.ts"); // [12]
 * ```
 */
export function pidsMatching(psOutput: string, needle: string): number[] {
  const pids: number[] = [];
  for (const line of psOutput.split("\n")) {
    const m = /^\s*(\d+)\s(.*)$/.exec(line);
    if (m && m[2].includes(needle)) pids.push(Number(m[1]));
  }
  return pids;
}

/**
 * The pid of the one process whose command line contains `needle` (e.g. a temporary kubeconfig
 * path only that handler was given), or throws when there is none or more than one.
 *
 * @example
 * ```ts
 * const pid = await findPid(stack.kubeconfig);
 * ```
 */
export async function findPid(needle: string): Promise<number> {
  const out = await new Deno.Command("ps", { args: ["-eo", "pid=,args="], stdout: "piped" })
    .output();
  if (!out.success) throw new Error(`findPid: ps exited ${out.code}`);
  const found = pidsMatching(new TextDecoder().decode(out.stdout), needle)
    .filter((pid) => pid !== Deno.pid);
  if (found.length !== 1) {
    throw new Error(
      `findPid: expected one process with ${JSON.stringify(needle)} in its command line, ` +
        `found ${found.length}`,
    );
  }
  return found[0];
}
