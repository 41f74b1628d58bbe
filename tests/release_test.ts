import assert from "node:assert/strict";
import { parse } from "../dev_deps.ts";
import { CHART_REPOSITORY, IMAGE_REPOSITORY, VERSION } from "../tools/release.ts";

const ROOT = new URL("..", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string | boolean>;
}
interface Workflow {
  on: { push: { tags: string[] } };
  jobs: Record<string, { steps: Step[]; permissions: Record<string, string> }>;
}

const workflow = parse(read(".github/workflows/release.yml")) as Workflow;
const steps = workflow.jobs.release.steps;
const uses = (action: string) => steps.find((s) => s.uses?.startsWith(`${action}@`));

/** Runs the workflow's tag check as the runner would, in a scratch GITHUB_OUTPUT. */
async function checkTag(tag: string, owner: string) {
  const script = steps.find((s) => s.id === "meta")?.run;
  assert.ok(script, "the workflow has a step with id meta");
  const output = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command("bash", {
      args: ["-c", script],
      cwd: ROOT,
      env: { GITHUB_REF_NAME: tag, GITHUB_REPOSITORY_OWNER: owner, GITHUB_OUTPUT: output },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const outputs = Object.fromEntries(
      (await Deno.readTextFile(output)).split("\n").filter(Boolean).map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)];
      }),
    );
    return { ok: out.success, text, outputs };
  } finally {
    await Deno.remove(output);
  }
}

const owner = IMAGE_REPOSITORY.split("/")[1];

Deno.test("the release runs on a v* tag and accepts only the tag of deno.json's version", async () => {
  assert.deepEqual(workflow.on.push.tags, ["v*"]);
  const good = await checkTag(`v${VERSION}`, owner.toUpperCase());
  assert.ok(good.ok, good.text);
  assert.deepEqual(good.outputs, {
    version: VERSION,
    image: IMAGE_REPOSITORY,
    charts: CHART_REPOSITORY,
  });
  const wrong = await checkTag("v999.0.0", owner);
  assert.equal(wrong.ok, false);
  assert.match(wrong.text, new RegExp(`tag v999\\.0\\.0 is not v${VERSION.replace(/\./g, "\\.")}`));
  assert.deepEqual(wrong.outputs, {});
});

Deno.test("a release from another owner stops before publishing an image the chart does not name", async () => {
  const fork = await checkTag(`v${VERSION}`, "someone-else");
  assert.equal(fork.ok, false);
  assert.match(fork.text, /ghcr\.io\/someone-else\/spot-termination-handler/);
  assert.match(fork.text, /tools\/release\.ts/);
});

Deno.test("the image is built from the Dockerfile for amd64 and arm64, pushed to GHCR with an SBOM", () => {
  const build = uses("docker/build-push-action");
  assert.ok(build?.with);
  assert.equal(build.with.file, "Dockerfile");
  assert.equal(build.with.platforms, "linux/amd64,linux/arm64");
  assert.equal(build.with.push, true);
  assert.equal(build.with.sbom, true);
  assert.equal(uses("docker/login-action")?.with?.registry, "ghcr.io");
  assert.ok(uses("docker/setup-buildx-action"));
  const meta = uses("docker/metadata-action");
  assert.match(String(meta?.with?.tags), /value=\$\{\{ steps\.meta\.outputs\.version \}\}/);
  const sbom = uses("anchore/sbom-action");
  assert.match(String(sbom?.with?.image), /steps\.build\.outputs\.digest/);
  assert.equal(workflow.jobs.release.permissions.packages, "write");
});

Deno.test("the chart is packaged with the release version, pushed to GHCR and attached with the SBOM", () => {
  const chart = steps.find((s) => s.run?.includes("helm push"));
  assert.ok(chart?.run);
  assert.match(chart.run, /helm package charts\/spot-termination-handler --version "\$VERSION"/);
  assert.match(
    chart.run,
    /helm push "dist\/spot-termination-handler-\$\{VERSION\}\.tgz" "\$CHARTS"/,
  );
  const release = steps.find((s) => s.run?.includes("gh release create"));
  assert.match(String(release?.run), /\.spdx\.json/);
  assert.match(String(release?.run), /\.tgz/);
});

Deno.test("the install instructions name the registry the release publishes to", () => {
  for (const path of ["README.md", "charts/spot-termination-handler/README.md"]) {
    assert.ok(
      read(path).includes(`${CHART_REPOSITORY}/spot-termination-handler`),
      `${path} installs from ${CHART_REPOSITORY}`,
    );
  }
});
