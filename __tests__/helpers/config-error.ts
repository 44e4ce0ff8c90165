import { EnvironmentConfig } from "../../stacks/environments";
import { ConfigError, validateEnvironment } from "../../stacks/validate-environment";

/** The message of the ConfigError that validating `env` raises; fails the test when it is valid. */
export function configErrorMessage(env: EnvironmentConfig): string {
  try {
    validateEnvironment(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}
