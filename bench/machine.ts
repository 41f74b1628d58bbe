/**
 * What the benchmarks ran on: CPU model and count, memory, kernel, Deno and kubectl versions.
 * Figures from a shared 2-core VM and a 16-core workstation are not comparable; RESULTS.md
 * always says which one it was.
 *
 * @module
 */

import { kubectlVersion } from "../tools/kubectl.ts";
import { readProcFile } from "./procfs.ts";

export { kubectlVersion };

/** The machine and tool versions of one benchmark run. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  deno: string;
  v8: string;
  /** `kubectl version --client` first line, or undefined when kubectl is missing. */
  kubectl?: string;
  date: Date;
}

/**
 * The CPU model from `/proc/cpuinfo` (first `model name`), `unknown` when absent (e.g. arm64
 * kernels that do not print one).
 *
 * @example
 * ```ts
 * parseCpuModel("processor\t: 0\nmodel name\t: AMD EPYC\n"); // "AMD EPYC"
 * ```
 */
export function parseCpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown";
}

/**
 * `MemTotal` from `/proc/meminfo`, in bytes.
 *
 * @example
 * ```ts
 * parseMemTotal("MemTotal:       24684544 kB\n"); // 25276973056
 * ```
 */
export function parseMemTotal(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  if (!m) throw new SyntaxError("/proc/meminfo: no MemTotal line");
  return Number(m[1]) * 1024;
}

/**
 * Collect the machine description.
 *
 * @example
 * ```ts
 * const machine = await machineInfo();
 * console.log(machine.cpuModel, machine.cores);
 * ```
 */
export async function machineInfo(): Promise<MachineInfo> {
  const [cpuinfo, meminfo, kubectl] = await Promise.all([
    readProcFile("/proc/cpuinfo"),
    readProcFile("/proc/meminfo"),
    kubectlVersion(),
  ]);
  return {
    cpuModel: parseCpuModel(cpuinfo),
    cores: navigator.hardwareConcurrency,
    memoryBytes: parseMemTotal(meminfo),
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    kubectl,
    date: new Date(),
  };
}
