import { InvalidArgumentError } from "../domain/errors.js";

// Machine labels are what an instance's required labels are matched against (spec 004 §5.1):
// short, plain keys and values, as Kubernetes labels, so they read the same in every tool.

const MAX_LABELS = 64;
const KEY = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;

export function checkedLabels(field: string, labels: Record<string, string>): Record<string, string> {
  const entries = Object.entries(labels);
  if (entries.length > MAX_LABELS) throw new InvalidArgumentError(field, `must have at most ${MAX_LABELS} labels`);
  for (const [key, value] of entries) {
    if (!KEY.test(key))
      throw new InvalidArgumentError(
        field,
        `key ${JSON.stringify(key)} must be 1 to 63 letters, digits, '.', '_', '-' or '/', starting and ending with a letter or digit`,
      );
    if (!VALUE.test(value))
      throw new InvalidArgumentError(
        `${field}[${key}]`,
        `must be at most 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit`,
      );
  }
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;

export function checkedPriority(field: string, priority: number): number {
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY)
    throw new InvalidArgumentError(field, `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`);
  return priority;
}
