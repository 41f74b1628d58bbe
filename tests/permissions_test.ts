/**
 * The permissions the handler ships with have one source of truth, lib/permissions.ts. These
 * tests hold the Dockerfile's `deno compile`, the `start` task and the end-to-end stack to it,
 * and check the image's final stage: distroless, non-root, the binary alone.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { CORE_VARIABLES } from "../lib/config_variables.ts";
import {
  CONFIG_DIR,
  HANDLER_PERMISSIONS,
  localPermissions,
  TOKEN_DIRS,
} from "../lib/permissions.ts";
import { HANDLER_RUNTIME_FLAGS, HANDLER_V8_FLAGS, v8FlagsArgs } from "../lib/runtime_flags.ts";
import { nonPermissionFlags } from "../tools/handler_process.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const read = (path: string) => Deno.readTextFileSync(`${ROOT}${path}`);

/** One Dockerfile instruction, continuation lines joined and comments dropped. */
interface Instruction {
  keyword: string;
  args: string;
}

/** A build stage: its FROM line and the instructions after it. */
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    // Docker drops comment lines, also those inside a continued instruction.
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const whole = (pending + line).trim();
    pending = "";
    if (whole === "") continue;
    const [keyword, ...rest] = whole.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" ") });
  }
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith("--platform"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({
        from: words[0],
        name: as >= 0 ? words[as + 1] : undefined,
        instructions: [],
      });
    } else if (stages.length > 0) {
      stages.at(-1)!.instructions.push(instruction);
    } else {
      assert.ok(
        instruction.keyword === "ARG",
        `only ARG may come before the first FROM, got ${instruction.keyword}`,
      );
    }
  }
  return stages;
}

/** Shell words of a command line: quotes removed, `;`, `&&`, `||` and `|` as their own words. */
function shellWords(command: string): string[] {
  const words: string[] = [];
  let word = "";
  let quote: string | undefined;
  let started = false;
  const flush = () => {
    if (started) words.push(word);
    word = "";
    started = false;
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      flush();
    } else if (c === ";" || c === "|" || c === "&") {
      flush();
      const two = command.slice(i, i + 2);
      if (two === "&&" || two === "||") {
        words.push(two);
        i++;
      } else {
        words.push(c);
      }
    } else {
      word += c;
      started = true;
    }
  }
  assert.equal(quote, undefined, `unterminated quote in ${command}`);
  flush();
  return words;
}

/** The words of every `deno <subcommand> ...` invocation in a command line. */
function denoInvocations(command: string, subcommand: string): string[][] {
  const words = shellWords(command);
  const found: string[][] = [];
  const separators = [";", "&&", "||", "|", "&"];
  for (let i = 0; i < words.length - 1; i++) {
    const commandPosition = i === 0 || separators.includes(words[i - 1]);
    if (!commandPosition || !/(^|\/)deno$/.test(words[i]) || words[i + 1] !== subcommand) {
      continue;
    }
    const end = words.findIndex((w, j) => j > i && separators.includes(w));
    found.push(words.slice(i + 2, end === -1 ? undefined : end));
  }
  return found;
}

/**
 * The words that grant or widen permissions: every `--allow-*`, `--deny-*`, `-A`, `-P`,
 * `--permission-set`, the short forms (`-N`, `-E`, `-R`, `-W`, `-S`) and
 * `--unsafely-ignore-certificate-errors`.
 */
function permissionFlags(args: string[]): string[] {
  return args.filter((a) =>
    /^--(allow|deny|ignore)-/.test(a) || /^--permission-set(=|$)/.test(a) ||
    /^--unsafely-ignore-certificate-errors(=|$)/.test(a) || /^-[AENPRSW]/.test(a)
  );
}

const sorted = (xs: readonly string[]) => [...xs].sort();

function compileArgs(): string[] {
  const build = parseDockerfile(read("Dockerfile"))[0];
  const compiles = build.instructions
    .filter((i) => i.keyword === "RUN")
    .flatMap((i) => denoInvocations(i.args, "compile"));
  assert.equal(compiles.length, 1, "the build stage runs deno compile exactly once");
  return compiles[0];
}

Deno.test("the Dockerfile parser joins continued lines, skips comments and splits stages", () => {
  const stages = parseDockerfile(
    [
      "# comment",
      "ARG V=1",
      "FROM --platform=$BUILDPLATFORM img:1 AS build",
      "RUN a \\",
      "    # a comment inside",
      '    && b "c d"',
      "FROM final:2",
      "USER 1",
    ].join("\n"),
  );
  assert.deepEqual(stages, [
    { from: "img:1", name: "build", instructions: [{ keyword: "RUN", args: 'a && b "c d"' }] },
    { from: "final:2", name: undefined, instructions: [{ keyword: "USER", args: "1" }] },
  ]);
});

Deno.test("permissionFlags finds every form that widens the sandbox", () => {
  const args = shellWords(
    "deno compile --frozen -A --allow-all -P --permission-set=x -N -Eabc --allow-run " +
      "--deny-net --unsafely-ignore-certificate-errors --output out --target=x main.ts -r",
  );
  assert.deepEqual(permissionFlags(args), [
    "-A",
    "--allow-all",
    "-P",
    "--permission-set=x",
    "-N",
    "-Eabc",
    "--allow-run",
    "--deny-net",
    "--unsafely-ignore-certificate-errors",
  ]);
});

Deno.test("denoInvocations stops at the end of the command and strips quotes", () => {
  assert.deepEqual(
    denoInvocations(
      `set -eu; deno compile "--allow-read=/a,/b" main.ts && echo deno compile; /usr/bin/deno compile x`,
      "compile",
    ),
    [["--allow-read=/a,/b", "main.ts"], ["x"]],
  );
});

Deno.test("HANDLER_PERMISSIONS grants network, env, token and config reads and osRelease, nothing more", () => {
  assert.deepEqual(sorted(HANDLER_PERMISSIONS), [
    "--allow-env",
    "--allow-net",
    `--allow-read=${TOKEN_DIRS.join(",")},${CONFIG_DIR}`,
    "--allow-sys=osRelease",
  ]);
  for (const dir of TOKEN_DIRS) assert.match(dir, /^\/var\/run\/secrets\/[a-z.]+\/serviceaccount$/);
  assert.equal(CONFIG_DIR, "/etc/spot-termination-handler");
});

Deno.test("localPermissions adds only read access to the kubeconfig", () => {
  assert.deepEqual(localPermissions(), [...HANDLER_PERMISSIONS]);
  assert.deepEqual(localPermissions("/tmp/kc"), [
    ...HANDLER_PERMISSIONS,
    "--allow-read=/tmp/kc",
  ]);
});

Deno.test("the Dockerfile compiles main.ts with exactly HANDLER_PERMISSIONS", () => {
  const args = compileArgs();
  assert.deepEqual(sorted(permissionFlags(args)), sorted(HANDLER_PERMISSIONS));
  assert.equal(args.at(-1), "main.ts", "main.ts is the entry point");
  assert.ok(args.includes("--frozen"), "the lock file is enforced");
  assert.ok(!args.some((a) => a.startsWith("--no-check")), "the build type-checks");
  assert.ok(!args.includes("--self-extracting"), "nothing is unpacked to the read-only disk");
  const output = args[args.indexOf("--output") + 1];
  assert.equal(output, "/out/spot-termination-handler");
});

Deno.test("no Dockerfile instruction skips type-checking", () => {
  const instructions = parseDockerfile(read("Dockerfile")).flatMap((s) => s.instructions);
  assert.ok(instructions.some((i) => i.keyword === "RUN"));
  for (const i of instructions) assert.doesNotMatch(i.args, /--no-check/);
});

Deno.test("the start task runs main.ts with exactly HANDLER_PERMISSIONS", () => {
  const config = JSON.parse(read("deno.json")) as { tasks: Record<string, string> };
  const runs = denoInvocations(config.tasks.start, "run");
  assert.equal(runs.length, 1);
  assert.deepEqual(sorted(permissionFlags(runs[0])), sorted(HANDLER_PERMISSIONS));
  assert.equal(runs[0].at(-1), "main.ts");
});

Deno.test("the handler subprocess runs main.ts with localPermissions and no other permission flags", () => {
  const source = read("tools/handler_process.ts");
  assert.match(source, /import \{ localPermissions \} from "\.\.\/lib\/permissions\.ts";/);
  assert.match(
    source,
    /args: \[\s*"run",\s*"--quiet",\s*"--no-prompt",\s*\.\.\.localPermissions\(options\.kubeconfig\),\s*\.\.\.nonPermissionFlags\(options\.runtimeFlags \?\? HANDLER_RUNTIME_FLAGS\),\s*\.\.\.nonPermissionFlags\(options\.denoFlags\),\s*MAIN_TS,/,
    "spawnHandler passes localPermissions to deno run",
  );
  assert.doesNotMatch(
    source,
    /"--allow-|"-A"|"--permission-set|"-P/,
    "no permission is added beside",
  );
});

Deno.test("the stack refuses extra deno flags that would change the handler's permissions", () => {
  assert.deepEqual(nonPermissionFlags(["--no-config"]), ["--no-config"]);
  assert.deepEqual(nonPermissionFlags(["-q", "-L=debug"]), ["-q", "-L=debug"]);
  assert.deepEqual(nonPermissionFlags(), []);
  for (
    const flag of [
      "--allow-run",
      "--allow-all",
      "-A",
      "-P",
      "-P=handler",
      "--permission-set=x",
      "--deny-net",
      "-N",
      "-R=/",
      "-W",
      "-E",
      "-S",
      "-I",
    ]
  ) {
    assert.throws(() => nonPermissionFlags(["--no-config", flag]), {
      name: "TypeError",
      message: `spawnHandler: denoFlags may not change permissions: ${flag}`,
    });
  }
});

Deno.test("the image is built with the Deno version CI installs", () => {
  const [build] = parseDockerfile(read("Dockerfile"));
  const image = /^denoland\/deno:(\d+\.\d+\.\d+)(@sha256:[0-9a-f]{64})?$/.exec(build.from);
  assert.ok(image, `build stage image ${build.from} is denoland/deno pinned to a version`);
  const ci = /^DENO_VERSION=(\S+)$/m.exec(read(".ci/run"));
  assert.ok(ci, ".ci/run sets DENO_VERSION");
  assert.equal(image[1], ci[1]);
});

Deno.test("the final stage is distroless, non-root, and holds the binary alone", () => {
  const stages = parseDockerfile(read("Dockerfile"));
  assert.equal(stages.length, 2);
  const [build, final] = stages;
  assert.match(final.from, /^gcr\.io\/distroless\/cc-debian12:nonroot(@sha256:[0-9a-f]{64})?$/);
  const of = (keyword: string) => final.instructions.filter((i) => i.keyword === keyword);
  assert.deepEqual(of("RUN"), [], "distroless has no shell");
  assert.deepEqual(of("COPY").map((i) => i.args), [
    `--from=${build.name} /out/spot-termination-handler /spot-termination-handler`,
  ]);
  assert.deepEqual(of("ADD"), []);
  const users = of("USER");
  assert.equal(users.length, 1);
  const [uid, gid] = users[0].args.split(":");
  assert.equal(uid, "65532", "distroless's nonroot uid, as daemonset.yaml's runAsUser");
  assert.equal(gid, "65532");
  assert.deepEqual(of("ENTRYPOINT").map((i) => JSON.parse(i.args)), [[
    "/spot-termination-handler",
  ]]);
  const port = CORE_VARIABLES.find((v) => v.name === "METRICS_PORT")!.default;
  assert.deepEqual(of("EXPOSE").map((i) => i.args), [port]);
});

Deno.test("the build stage copies every local module of main.ts and .dockerignore lets them in", async () => {
  const [build] = parseDockerfile(read("Dockerfile"));
  const sources = build.instructions
    .filter((i) => i.keyword === "COPY")
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: Array<{ specifier: string }>;
  };
  const local = info.modules
    .map((m) => m.specifier)
    .filter((s) => s.startsWith("file:"))
    .map((s) => fileURLToPath(s).slice(ROOT.length));
  assert.ok(local.includes("main.ts") && local.some((p) => p.startsWith("lib/")));
  const needed = ["deno.json", "deno.lock", ...local];
  const copied = (path: string) =>
    sources.some((s) => s.endsWith("/") ? path.startsWith(s) : path === s);
  assert.deepEqual(needed.filter((p) => !copied(p)), [], "files the build needs but never copies");

  // The .dockerignore is an allowlist: everything out, then the build's inputs back in.
  const patterns = read(".dockerignore").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  assert.equal(patterns[0], "*");
  const allowed = patterns.slice(1).map((p) => {
    assert.ok(p.startsWith("!"), `${p}: only exceptions follow "*"`);
    return p.slice(1);
  });
  const admitted = (path: string) =>
    allowed.some((a) => a.endsWith("/") ? path.startsWith(a) : path === a);
  assert.deepEqual(needed.filter((p) => !admitted(p)), [], "files .dockerignore keeps out");
});

/** The `--v8-flags` words of a command line. */
const v8FlagWords = (args: string[]) => args.filter((a) => /^--v8-flags(=|$)/.test(a));

Deno.test("v8FlagsArgs joins the V8 flags into one --v8-flags and gives nothing for none", () => {
  assert.deepEqual(v8FlagsArgs(["--max-opt=1", "--single-threaded-gc"]), [
    "--v8-flags=--max-opt=1,--single-threaded-gc",
  ]);
  assert.deepEqual(v8FlagsArgs([]), []);
  assert.deepEqual(HANDLER_RUNTIME_FLAGS, v8FlagsArgs(HANDLER_V8_FLAGS));
});

Deno.test("v8FlagsArgs refuses anything but single V8 flags", () => {
  for (const bad of ["--max-opt=1,--lite-mode", "max-opt=1", "--a b", ""]) {
    assert.throws(() => v8FlagsArgs([bad]), {
      name: "TypeError",
      message: `v8FlagsArgs: not a single V8 flag: ${JSON.stringify(bad)}`,
    });
  }
});

Deno.test("the Dockerfile compiles main.ts with exactly HANDLER_RUNTIME_FLAGS", () => {
  assert.deepEqual(v8FlagWords(compileArgs()), [...HANDLER_RUNTIME_FLAGS]);
});

Deno.test("the start task runs main.ts with exactly HANDLER_RUNTIME_FLAGS", () => {
  const config = JSON.parse(read("deno.json")) as { tasks: Record<string, string> };
  const [run] = denoInvocations(config.tasks.start, "run");
  assert.deepEqual(v8FlagWords(run), [...HANDLER_RUNTIME_FLAGS]);
});

Deno.test("the stack and the real-peer suite start the handler only through tools/handler_process.ts", () => {
  assert.match(
    read("tools/stack.ts"),
    /import \{ type HandlerProcess, spawnHandler \} from "\.\/handler_process\.ts";/,
  );
  assert.match(
    read("e2e/peers/peers_test.ts"),
    /import \{ type HandlerProcess, spawnHandler \} from "\.\.\/\.\.\/tools\/handler_process\.ts";/,
  );
  for (const file of ["tools/stack.ts", "e2e/peers/harness.ts", "e2e/peers/peers_test.ts"]) {
    const source = read(file);
    assert.doesNotMatch(
      source,
      /Deno\.execPath\(\)|localPermissions|HANDLER_RUNTIME_FLAGS/,
      `${file} runs no deno of its own and picks no flags`,
    );
    assert.doesNotMatch(source, /--v8-flags|DENO_V8_FLAGS/, `${file}: no V8 flags beside the list`);
  }
});

Deno.test("the handler subprocess runs main.ts with HANDLER_RUNTIME_FLAGS unless a measurement replaces them", () => {
  const source = read("tools/handler_process.ts");
  assert.match(
    source,
    /import \{ HANDLER_RUNTIME_FLAGS \} from "\.\.\/lib\/runtime_flags\.ts";/,
  );
  assert.doesNotMatch(source, /"--v8-flags|DENO_V8_FLAGS/, "no V8 flags beside the list");
});
