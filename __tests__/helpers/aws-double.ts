/**
 * Helpers around the TEST DOUBLE of the AWS CLI in __tests__/helpers/bin/aws: a fresh directory with a
 * rules file and a call log, and the PATH/env that puts the double first.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";

export interface AwsRule {
  match: string[];
  stdout?: string;
  stderr?: string;
  exit?: number;
  times?: number;
  /** Write `content` to the file named by argv[arg] (negative: from the end), e.g. the DEST of `s3 cp`. */
  writeFile?: { arg: number; content: string; encoding?: "utf8" | "base64" };
}

/** A CloudFront key value store held by the double (AWS_DOUBLE_KVS). */
export interface KeyValueStoreState {
  name: string;
  arn: string;
  etag: string;
  items: Record<string, string>;
  /** Another writer moves the ETag right after the first DescribeKeyValueStore. */
  writerAfterDescribe?: boolean;
}

export interface AwsDouble {
  /** Env vars to merge into a child process's environment (PATH first, log, rules). */
  env: Record<string, string>;
  setRules(rules: AwsRule[]): void;
  /** Serves a key value store from `state` (and adds AWS_DOUBLE_KVS to `env`). */
  setKeyValueStore(state: KeyValueStoreState): void;
  /** The store as the calls so far left it. */
  keyValueStore(): KeyValueStoreState;
  /** Every recorded call's argv. */
  calls(): string[][];
  cleanup(): void;
}

export function awsDouble(rules: AwsRule[] = []): AwsDouble {
  const dir = mkdtempSync(join(tmpdir(), "zmanim-aws-double-"));
  const rulesFile = join(dir, "rules.json");
  const log = join(dir, "calls.jsonl");
  const setRules = (r: AwsRule[]) => {
    writeFileSync(rulesFile, JSON.stringify(r));
    rmSync(`${rulesFile}.counts`, { force: true });
  };
  setRules(rules);
  const bin = resolve(__dirname, "bin");
  const kvsFile = join(dir, "kvs.json");
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH}`,
    AWS_DOUBLE_LOG: log,
    AWS_DOUBLE_RULES: rulesFile,
  };
  return {
    env,
    setRules,
    setKeyValueStore: (state) => {
      writeFileSync(kvsFile, JSON.stringify(state));
      env.AWS_DOUBLE_KVS = kvsFile;
    },
    keyValueStore: () => JSON.parse(readFileSync(kvsFile, "utf8")) as KeyValueStoreState,
    calls: () =>
      existsSync(log)
        ? readFileSync(log, "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l).argv as string[])
        : [],
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
