/**
 * The house's size rules as a `deno lint` plugin, so they are measured the same way every time and
 * CI holds them (issue 14): no function over 80 lines and no `lib/` file over 300 lines. Long
 * closures hide the order in which data flows and grow without anyone deciding they should; a file
 * that is one cohesive table or one set of pure functions may stay longer, and says so with
 * `// deno-lint-ignore-file house/max-file-lines -- <why>` (tests/house_test.ts reads those
 * reasons).
 *
 * @module
 */

/** Longest function, in lines from its first to its last line. */
export const MAX_FUNCTION_LINES = 80;
/** Longest file in `lib/`, in lines. */
export const MAX_FILE_LINES = 300;

/** The code the rules hold: what ships, and the stand-in API server the tests lean on most. */
const FUNCTION_SCOPE =
  /(?:^|\/)(?:lib\/[^/]+\.ts|main\.ts|tools\/fake_apiserver[^/]*(?:\/[^/]+)?\.ts)$/;
const FILE_SCOPE = /(?:^|\/)lib\/[^/]+\.ts$/;

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function spanLines(text: string, [start, end]: Deno.lint.Range): number {
  return lineAt(text, end) - lineAt(text, start) + 1;
}

function inScope(filename: string, scope: RegExp): boolean {
  return scope.test(filename.replaceAll("\\", "/"));
}

/** The plugin; deno.json's `lint.plugins` loads this file. */
export const plugin: Deno.lint.Plugin = {
  name: "house",
  rules: {
    "max-function-lines": {
      create(context) {
        if (!inScope(context.filename, FUNCTION_SCOPE)) return {};
        const check = (node: Deno.lint.Node) => {
          const lines = spanLines(context.sourceCode.text, node.range);
          if (lines <= MAX_FUNCTION_LINES) return;
          context.report({
            node,
            message: `function is ${lines} lines long (at most ${MAX_FUNCTION_LINES})`,
            hint: "split it into named steps that read in the order the data flows",
          });
        };
        return {
          FunctionDeclaration: check,
          FunctionExpression: check,
          ArrowFunctionExpression: check,
        };
      },
    },
    "max-file-lines": {
      create(context) {
        if (!inScope(context.filename, FILE_SCOPE)) return {};
        return {
          Program(node) {
            const lines = context.sourceCode.text.replace(/\n$/, "").split("\n").length;
            if (lines <= MAX_FILE_LINES) return;
            context.report({
              range: [node.range[0], node.range[0]],
              message: `file is ${lines} lines long (at most ${MAX_FILE_LINES})`,
              hint: "give each concern its own module, or, for one cohesive table or one set " +
                "of pure functions, say so in a deno-lint-ignore-file comment",
            });
          },
        };
      },
    },
  },
};

// deno lint loads a plugin from its module's default export; the one default export in the house.
export default plugin;
