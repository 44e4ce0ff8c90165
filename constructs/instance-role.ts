import { Construct } from "constructs";
import { Fn } from "cdktf/lib/terraform-functions";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";

/** One IAM policy statement as JSON. */
export interface IamStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface InstanceRoleProps {
  /** Name of the role and of its instance profile. */
  readonly name: string;
  readonly description: string;
  /** Name of the role's one inline policy. */
  readonly policyName: string;
  /** The inline policy's statements: everything the instances may do. No managed policy is attached. */
  readonly statements: IamStatement[];
  /** Only EC2 acting for this account may assume the role (`aws:SourceAccount`). */
  readonly accountId: string;
  /**
   * Prepended to the logical ids `instance-role`, `instance-policy` and `instance-profile`. Give a second role
   * in the same stack its own prefix. @default ""
   */
  readonly logicalIdPrefix?: string;
}

/**
 * An IAM role for EC2 instances with one inline policy and an instance profile of the same name. The trust
 * policy admits `ec2.amazonaws.com` for the given account only; statement ids must be unique.
 */
export class InstanceRole extends Construct {
  readonly role: IamRole;
  readonly profile: IamInstanceProfile;

  constructor(scope: Construct, id: string, props: InstanceRoleProps) {
    super(scope, id);
    const prefix = props.logicalIdPrefix ?? "";
    const sids = props.statements.map((s) => s.Sid);
    const dup = sids.find((s, i) => sids.indexOf(s) !== i);
    if (dup)
      throw new Error(
        `InstanceRole ${id}: statement Sid ${JSON.stringify(dup)} appears twice; give each statement its own Sid`,
      );

    this.role = new IamRole(this, "role", {
      name: props.name,
      description: props.description,
      assumeRolePolicy: Fn.jsonencode({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ec2.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
          },
        ],
      }),
    });
    this.role.overrideLogicalId(`${prefix}instance-role`);
    new IamRolePolicy(this, "policy", {
      name: props.policyName,
      role: this.role.id,
      policy: JSON.stringify({ Version: "2012-10-17", Statement: props.statements }),
    }).overrideLogicalId(`${prefix}instance-policy`);
    this.profile = new IamInstanceProfile(this, "profile", { name: props.name, role: this.role.name });
    this.profile.overrideLogicalId(`${prefix}instance-profile`);
  }
}
