/**
 * CloudWatch Logs' space-delimited metric filter patterns, evaluated the way the service documents them
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html, "Using metric filters to
 * match terms in space-delimited log events"):
 * - `[a, b, c]` names the event's fields in order; an event matches only with exactly as many fields (unless the
 *   pattern ends with `...`);
 * - fields are separated by spaces; text in double quotes or square brackets is one field;
 * - `name=value` / `name!=value` compare strings, where `*` in the value matches any run of characters;
 * - `name>n`, `name<n`, `name>=n`, `name<=n`, `name=n` with a number compare numerically;
 * - a metric value `$name` is the matched field's number; a literal is that number.
 * Only this subset is implemented; anything else throws so a pattern outside it cannot pass unnoticed.
 */
export interface FilterMatch {
  fields: Record<string, string>;
  value: number;
}

function splitEvent(message: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|\[([^\]]*)\]|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(message))) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

interface Term {
  name: string;
  op?: "=" | "!=" | ">" | "<" | ">=" | "<=";
  operand?: string;
}

function parsePattern(pattern: string): { terms: Term[]; open: boolean } {
  const m = /^\[(.*)\]$/.exec(pattern.trim());
  if (!m)
    throw new Error(
      `pattern ${JSON.stringify(pattern)}: only space-delimited [field, ...] patterns are evaluated here`,
    );
  const parts = m[1].split(",").map((p) => p.trim());
  let open = false;
  if (parts[parts.length - 1] === "...") {
    open = true;
    parts.pop();
  }
  const terms = parts.map((p): Term => {
    const t = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?:(!=|>=|<=|=|>|<)\s*(.+))?$/.exec(p);
    if (!t) throw new Error(`pattern term ${JSON.stringify(p)} is outside the evaluated subset`);
    return { name: t[1], op: t[2] as Term["op"], operand: t[3] };
  });
  return { terms, open };
}

function wildcard(value: string, operand: string): boolean {
  const quoted = /^"(.*)"$/.exec(operand);
  const text = quoted ? quoted[1] : operand;
  const re = new RegExp(
    `^${text
      .split("*")
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(value);
}

function holds(value: string, t: Term): boolean {
  if (!t.op || t.operand === undefined) return true;
  const numeric = /^-?\d+(\.\d+)?$/.test(t.operand);
  if (numeric && t.op !== "=" && t.op !== "!=") {
    const v = Number(value);
    if (Number.isNaN(v)) return false;
    const n = Number(t.operand);
    return t.op === ">" ? v > n : t.op === "<" ? v < n : t.op === ">=" ? v >= n : v <= n;
  }
  if (numeric) return (Number(value) === Number(t.operand)) === (t.op === "=");
  if (t.op === "=") return wildcard(value, t.operand);
  if (t.op === "!=") return !wildcard(value, t.operand);
  throw new Error(`operator ${t.op} with a string operand is outside the evaluated subset`);
}

/** The match of one log event, or undefined. */
export function evaluateMetricFilter(pattern: string, metricValue: string, message: string): FilterMatch | undefined {
  const { terms, open } = parsePattern(pattern);
  const values = splitEvent(message);
  if (open ? values.length < terms.length : values.length !== terms.length) return undefined;
  const fields: Record<string, string> = {};
  for (const [k, t] of terms.entries()) {
    if (!holds(values[k], t)) return undefined;
    fields[t.name] = values[k];
  }
  let value: number;
  if (metricValue.startsWith("$")) {
    const raw = fields[metricValue.slice(1)];
    if (raw === undefined) throw new Error(`metric value ${metricValue} names no field of ${pattern}`);
    value = Number(raw);
    // CloudWatch Logs publishes nothing for a non-numeric value.
    if (Number.isNaN(value)) return undefined;
  } else {
    value = Number(metricValue);
  }
  return { fields, value };
}
