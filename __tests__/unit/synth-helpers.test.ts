/**
 * The "for every resource of this type" helpers refuse to pass over nothing: a check over an absent type is
 * an error, not a vacuous pass.
 */
import { environments, scaled } from "../../constructs/config/environments";
import { resourcesOfType, stackResourcesOfType, synthAll } from "../helpers/synth";

describe("resourcesOfType", () => {
  it("finds at least one resource of every type each shipped environment synthesizes", () => {
    for (const env of [...Object.values(environments), scaled]) {
      const s = synthAll(env);
      const types = new Set(Object.values(s.stacks).flatMap((json) => Object.keys(json.resource ?? {})));
      expect(types.size).toBeGreaterThan(40);
      for (const type of types) expect(resourcesOfType(s, type).length).toBeGreaterThan(0);
    }
  });

  it("throws on a type the environment does not synthesize, naming it and the fix", () => {
    const s = synthAll();
    expect(() => resourcesOfType(s, "aws_instancee")).toThrow(
      /expected at least 1 aws_instancee resource\(s\) .* found 0: .* fix the type name or pass \{ min: 0 \}/,
    );
    expect(resourcesOfType(s, "aws_nat_gateway", { min: 0 })).toEqual([]);
  });

  it("throws below a stated minimum", () => {
    const s = synthAll();
    expect(resourcesOfType(s, "aws_instance")).toHaveLength(1);
    expect(() => resourcesOfType(s, "aws_instance", { min: 2 })).toThrow(
      /expected at least 2 aws_instance resource\(s\).* found 1/,
    );
  });

  it("applies the same rule to one stack", () => {
    const json = synthAll().stacks.compute;
    expect(stackResourcesOfType(json, "aws_ebs_volume").map(([id]) => id)).toEqual(["data_volume"]);
    expect(() => stackResourcesOfType(json, "aws_lb")).toThrow(
      /expected at least 1 aws_lb resource\(s\) in this stack, found 0/,
    );
  });
});
