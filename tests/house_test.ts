import assert from "node:assert/strict";
import { MAX_FILE_LINES, MAX_FUNCTION_LINES, plugin } from "../tools/lint/house.ts";

const body = (lines: number) => Array.from({ length: lines }, (_, i) => `  f(${i});`).join("\n");
const fn = (total: number) => `export function g() {\n${body(total - 2)}\n}\n`;

// Files that need not exist: the rules only look at the path, and the source is given here.
const at = (dir: string, name: string) => `${dir}/${name}`;

function messages(file: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, file, source).map((d) => `${d.id}: ${d.message}`);
}

Deno.test("max-function-lines passes a function of exactly the limit and reports one line over", () => {
  assert.deepEqual(messages(at("lib", "x.ts"), fn(MAX_FUNCTION_LINES)), []);
  assert.deepEqual(messages(at("lib", "x.ts"), fn(MAX_FUNCTION_LINES + 1)), [
    `house/max-function-lines: function is ${
      MAX_FUNCTION_LINES + 1
    } lines long (at most ${MAX_FUNCTION_LINES})`,
  ]);
});

Deno.test("max-function-lines measures arrows and closures inside a factory too", () => {
  const arrow = `export const h = () => {\n${body(MAX_FUNCTION_LINES)}\n};\n`;
  assert.equal(messages("main.ts", arrow).length, 1);
  const inner = `export function outer() {\n  return { m() {\n${
    body(MAX_FUNCTION_LINES)
  }\n  } };\n}\n`;
  // The factory and its method both run over: a closure is as long as everything inside it.
  assert.equal(messages(at("lib", "y.ts"), inner).length, 2);
});

Deno.test("the size rules hold lib/, main.ts and the stand-in API server, not tests", () => {
  assert.equal(
    messages(at("tools", "fake_apiserver_routes.ts"), fn(MAX_FUNCTION_LINES + 5)).length,
    1,
  );
  assert.deepEqual(messages(at("tests", "x_test.ts"), fn(MAX_FUNCTION_LINES + 5)), []);
  assert.deepEqual(messages(at("bench", "run.ts"), fn(MAX_FUNCTION_LINES + 5)), []);
});

Deno.test("max-file-lines reports a lib/ file over the limit, once", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `export const a${i} = ${i};`);
  assert.deepEqual(messages(at("lib", "z.ts"), lines(MAX_FILE_LINES).join("\n") + "\n"), []);
  assert.deepEqual(messages(at("lib", "z.ts"), lines(MAX_FILE_LINES + 1).join("\n") + "\n"), [
    `house/max-file-lines: file is ${MAX_FILE_LINES + 1} lines long (at most ${MAX_FILE_LINES})`,
  ]);
  assert.deepEqual(messages(at("tools", "z.ts"), lines(MAX_FILE_LINES + 1).join("\n")), []);
});

// The one way out of the file rule is to say what makes the file one thing; the function rule has
// none, and no file may carry a debt line.
const EXCUSE =
  /^\/\/ deno-lint-ignore-file house\/max-file-lines -- one (cohesive table|set of pure functions): \S/;

async function houseIgnores(): Promise<string[]> {
  const root = new URL("../", import.meta.url);
  const files = ["main.ts"];
  for (const dir of ["lib", "tools"]) {
    for await (const e of Deno.readDir(new URL(dir, root))) {
      if (e.isFile && e.name.endsWith(".ts")) files.push(`${dir}/${e.name}`);
    }
  }
  const found: string[] = [];
  for (const file of files.sort()) {
    const text = await Deno.readTextFile(new URL(file, root));
    for (const line of text.split("\n")) {
      // A house rule named, or no rule at all (a bare ignore switches every rule off).
      if (/deno-lint-ignore.*house\/|deno-lint-ignore(-file)?\s*(--.*)?$/.test(line)) {
        found.push(`${file}: ${line}`);
      }
    }
  }
  return found;
}

Deno.test("no code is excused from the function rule, and a long file says what makes it one thing", async () => {
  const ignores = await houseIgnores();
  assert.deepEqual(ignores.filter((l) => !EXCUSE.test(l.slice(l.indexOf(": ") + 2))), []);
});

Deno.test("deno.json neither excludes the held code from lint nor drops the house plugin", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.deepEqual(config.lint.plugins, ["./tools/lint/house.ts"]);
  const excluded: string[] = [...(config.lint.exclude ?? []), ...(config.exclude ?? [])];
  assert.deepEqual(excluded.filter((p) => /^(\.\/)?(lib|main\.ts|tools)/.test(p)), []);
  assert.deepEqual(
    config.lint.rules?.exclude?.filter((r: string) => r.startsWith("house/")) ?? [],
    [],
  );
});
