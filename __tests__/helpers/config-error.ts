import { EnvironmentConfig } from "../../constructs/config/environments";
import { validateEnvironment } from "../../constructs/config/validate-environment";
import { ConfigError } from "../../constructs/config/errors";

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
