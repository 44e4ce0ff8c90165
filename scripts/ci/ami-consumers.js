#!/usr/bin/env node
// Prints what launches instances from the environment's AMI, read from the synthesized stacks: the stacks that
// read the SSM parameter /zmanim/<env>/ami-id (data aws_ssm_parameter), or the Auto Scaling groups in them.
// ami.yml deploys exactly these stacks after publishing a new AMI id, so a new AMI reaches the box (compute) in
// the single-box topology and the fleet (app) in the scaled one, and then waits for each group's instance refresh.
//
// Usage: node scripts/ci/ami-consumers.js (stacks|groups) [--outdir DIR]
//   stacks          one stack name per line, in manifest order (e.g. zmanim-prod-compute)
//   groups          one Auto Scaling group name per line (nothing when the environment has no fleet)
//   --outdir DIR    default: ${CDKTF_OUTDIR:-cdktf.out}
// Exit: 0 ok (stacks: at least one), 2 bad usage, no synthesized output, or no stack reads the AMI parameter.
"use strict";
const fs = require("fs");
const path = require("path");

const AMI_PARAMETER = /^\/zmanim\/[a-z0-9-]+\/ami-id$/;

class ConsumersError extends Error {}

/** The synthesized stacks of `outdir`, as [name, Terraform JSON], in manifest order. */
function synthesizedStacks(outdir) {
  const manifestPath = path.join(outdir, "manifest.json");
  if (!fs.existsSync(manifestPath))
    throw new ConsumersError(`${manifestPath} does not exist; run \`npm run synth\` first`);
  const manifest = JSON.parse(fs.readFileSync(manifestPath, "utf8"));
  return Object.entries(manifest.stacks).map(([name, st]) => [
    name,
    JSON.parse(fs.readFileSync(path.join(outdir, st.synthesizedStackPath), "utf8")),
  ]);
}

/** Stacks with a data aws_ssm_parameter whose name is the AMI parameter. */
function amiStacks(stacks) {
  return stacks
    .filter(([, tf]) =>
      Object.values((tf.data && tf.data.aws_ssm_parameter) || {}).some((d) => AMI_PARAMETER.test(String(d.name))),
    )
    .map(([name]) => name);
}

/** Names of the Auto Scaling groups in the stacks that read the AMI parameter. */
function amiGroups(stacks) {
  const readers = new Set(amiStacks(stacks));
  return stacks
    .filter(([name]) => readers.has(name))
    .flatMap(([, tf]) => Object.values((tf.resource && tf.resource.aws_autoscaling_group) || {}).map((g) => g.name));
}

function main(argv) {
  let outdir = process.env.CDKTF_OUTDIR || "cdktf.out";
  let mode;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stdout.write(
        fs
          .readFileSync(__filename, "utf8")
          .split("\n")
          .slice(1, 12)
          .map((l) => l.replace(/^\/\/ ?/, ""))
          .join("\n") + "\n",
      );
      return 0;
    }
    if (a === "--outdir") outdir = argv[++i];
    else if ((a === "stacks" || a === "groups") && !mode) mode = a;
    else {
      process.stderr.write(`ami-consumers: unknown argument "${a}"; use stacks or groups (see --help)\n`);
      return 2;
    }
  }
  if (!mode) {
    process.stderr.write("ami-consumers: say what to print: stacks or groups (see --help)\n");
    return 2;
  }
  try {
    const stacks = synthesizedStacks(outdir);
    const out = mode === "stacks" ? amiStacks(stacks) : amiGroups(stacks);
    if (mode === "stacks" && out.length === 0) {
      throw new ConsumersError(
        `no stack in ${outdir} reads the AMI parameter /zmanim/<env>/ami-id; a new AMI would reach no instance`,
      );
    }
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    return 0;
  } catch (e) {
    process.stderr.write(`ami-consumers: ${e.message}\n`);
    return 2;
  }
}

module.exports = { amiStacks, amiGroups, synthesizedStacks };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
