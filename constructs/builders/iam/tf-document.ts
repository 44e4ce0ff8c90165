/** A Terraform JSON document as far as the type inventory needs it. */
export interface TfDocument {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  provider?: Record<string, Record<string, unknown>[]>;
  terraform?: Record<string, unknown>;
  [key: string]: unknown;
}
