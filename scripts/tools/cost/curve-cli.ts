/**
 * npm run cost:curve [-- --check]
 *
 * Synthesizes prod (single-box) and the `scaled` example environment into temporary directories, prices each
 * from 100k to 500M viewer requests a month with prod's usage assumptions, and writes:
 *   docs/cost-curve.svg   the chart (embedded in the README)
 *   docs/cost-curve.json  the same series, the crossings of the budget and the current point
 *   README.md             the block between <!-- cost:begin --> and <!-- cost:end -->: one short table
 * With --check it writes nothing and exits 4 when any of the three differs from what it would write.
 *
 * Exit codes: 0 written (or current with --check); 2 bad input; 4 stale (--check).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { prod, scaled, EnvironmentConfig, topologyOf } from "../../../constructs/config/environments";
import { synthEnvironment } from "../../../main";
import { assumptionsFor } from "./assumptions";
import { CostCurve, costCurve, renderCurveJson, renderCurveSvg, renderReadmeBlock, TopologyInput } from "./curve";
import {
  InputError,
  LoadedStack,
  loadStacks,
  replaceBetweenMarkers,
  stacksOfEnvironment,
  textBetweenMarkers,
} from "./tfjson";
import { stackName } from "../../../constructs/config/naming";
import { ConfigError } from "../../../constructs/config/errors";

export const CURVE_SVG = "docs/cost-curve.svg";
export const CURVE_JSON = "docs/cost-curve.json";

/** Said of the scaled curve while its fleet comes from ASSUMED_APP instead of the synthesized stacks. */
export const ASSUMED_APP_LABEL =
  "the synthesized `scaled` environment plus an assumed app stack (an internal ALB and an Auto Scaling group of the " +
  "environment's `fleet`, from scripts/tools/cost/curve-cli.ts assumedAppStack), because the synthesized environment has " +
  "no Auto Scaling group yet; the single-box compute stack is left out, as `keepBox` is false";

/**
 * The app stack of the scaled topology as the cost model needs to see it, from the environment's fleet config:
 * an internal ALB, a launch template and an Auto Scaling group of `fleet.min` instances (public IPv4 or a NAT
 * gateway, as `egress` says), and the unhealthy-host and 5xx alarms. Used only while the synthesized
 * environment has no Auto Scaling group of its own.
 */
export function assumedAppStack(env: EnvironmentConfig): LoadedStack {
  const t = topologyOf(env);
  if (t.kind !== "scaled")
    throw new InputError(`${env.name}: topology is ${t.kind}; an app stack exists only in scaled`);
  const publicIp = t.egress === "public-ip";
  const resource: Record<string, Record<string, Record<string, unknown>>> = {
    aws_lb: { alb: { load_balancer_type: "application", internal: true } },
    aws_launch_template: {
      fleet: {
        instance_type: t.fleet.instanceType,
        network_interfaces: [{ associate_public_ip_address: publicIp }],
        block_device_mappings: [
          { device_name: "/dev/xvda", ebs: { volume_size: env.rootVolumeGb, volume_type: "gp3" } },
        ],
      },
    },
    aws_autoscaling_group: {
      fleet: {
        min_size: t.fleet.min,
        max_size: t.fleet.max,
        launch_template: { id: "${aws_launch_template.fleet.id}", version: "1" },
      },
    },
    aws_cloudwatch_metric_alarm: {
      "unhealthy-hosts": { namespace: "AWS/ApplicationELB", metric_name: "UnHealthyHostCount", period: 60 },
      "target-5xx": { namespace: "AWS/ApplicationELB", metric_name: "HTTPCode_Target_5XX_Count", period: 60 },
    },
  };
  if (!publicIp) resource.aws_nat_gateway = { nat: { connectivity_type: "public" } };
  return { name: stackName(env, "app"), json: { provider: { aws: [{ region: env.region }] }, resource } };
}

/** The scaled topology's stacks for the curve: synthesized, with ASSUMED_APP while no fleet is synthesized. */
export function scaledInput(env: EnvironmentConfig, stacks: LoadedStack[]): TopologyInput {
  const hasFleet = stacks.some((st) => Object.keys(st.json.resource?.aws_autoscaling_group ?? {}).length > 0);
  if (hasFleet) return { topology: "scaled", environment: env.name, stacks };
  const t = topologyOf(env);
  const keepBox = t.kind === "scaled" && t.keepBox;
  const kept = keepBox ? stacks : stacks.filter((st) => st.name !== stackName(env, "compute"));
  return {
    topology: "scaled",
    environment: env.name,
    stacks: [...kept, assumedAppStack(env)],
    assumed: ASSUMED_APP_LABEL,
  };
}

/** The curve of prod (single-box) and `scaled`, priced with prod's usage and commitment. */
export function curveFromOutdirs(prodOutdir: string, scaledOutdir: string): CostCurve {
  const inputs: TopologyInput[] = [
    {
      topology: "single-box",
      environment: prod.name,
      stacks: stacksOfEnvironment(loadStacks(prodOutdir), prod.name, prodOutdir),
    },
    scaledInput(scaled, stacksOfEnvironment(loadStacks(scaledOutdir), scaled.name, scaledOutdir)),
  ];
  return costCurve(inputs, prod.monthlyBudgetUsd, assumptionsFor(prod.name));
}

/** The three files as `npm run cost:curve` writes them, relative to the repository root. */
export function renderCurveFiles(c: CostCurve, readmeText: string, readme = "README.md"): Array<[string, string]> {
  const block = renderReadmeBlock(c, CURVE_SVG, CURVE_JSON);
  return [
    [CURVE_SVG, renderCurveSvg(c)],
    [CURVE_JSON, renderCurveJson(c)],
    [readme, replaceBetweenMarkers(readmeText, "cost", block, readme)],
  ];
}

function synthInto(env: EnvironmentConfig, base: string): string {
  return synthEnvironment(env, join(base, env.name, "cdktf.out"));
}

export function main(
  argv: readonly string[],
  root: string,
  print: (s: string) => void,
  printErr: (s: string) => void,
): number {
  const unknown = argv.filter((a) => a !== "--check");
  if (unknown.length) {
    printErr(`cost:curve: ${JSON.stringify(unknown[0])}: unknown option; the only option is --check\n`);
    return 2;
  }
  const check = argv.includes("--check");
  const readme = join(root, "README.md");
  if (!existsSync(readme)) {
    printErr(`cost:curve: ${readme} not found; run from the repository root\n`);
    return 2;
  }
  const base = mkdtempSync(join(tmpdir(), "zmanim-cost-curve-"));
  try {
    const c = curveFromOutdirs(synthInto(prod, base), synthInto(scaled, base));
    const files = renderCurveFiles(c, readFileSync(readme, "utf8"));
    if (check) {
      const stale = files.filter(([f, text]) => {
        const path = join(root, f);
        if (!existsSync(path)) return true;
        const current = readFileSync(path, "utf8");
        return f === "README.md"
          ? textBetweenMarkers(current, "cost")?.trim() !== textBetweenMarkers(text, "cost")?.trim()
          : current !== text;
      });
      if (stale.length) {
        printErr(
          `cost:curve: ${stale.map(([f]) => f).join(", ")} ${stale.length === 1 ? "is" : "are"} stale; run \`npm run cost:curve\`\n`,
        );
        return 4;
      }
      print("cost:curve: the chart, its JSON and the README block are current\n");
      return 0;
    }
    for (const [f, text] of files) writeFileSync(join(root, f), text);
    print(`cost:curve: wrote ${files.map(([f]) => f).join(", ")}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof InputError) {
      printErr(`cost:curve: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (require.main === module) {
  process.exitCode = main(
    process.argv.slice(2),
    process.cwd(),
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  );
}
