import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { DomainError } from "../domain/errors.js";

/** One typed error detail, as ConnectError takes it. */
export interface ErrorDetail<Desc extends DescMessage = DescMessage> {
  desc: Desc;
  value: MessageShape<Desc>;
}

type DetailMapper = (err: DomainError) => ErrorDetail[] | undefined;

const mappers: DetailMapper[] = [];

/**
 * Features whose errors carry a typed detail of their own (e.g. the catalog's image requirement
 * shortfalls) register how to build it here, from their service file (the only place that sees
 * generated types), so the request kit maps errors without importing any feature.
 */
export function registerErrorDetail<E extends DomainError>(
  errorClass: abstract new (...args: never[]) => E,
  toDetails: (err: E) => ErrorDetail[],
): void {
  mappers.push((err) => (err instanceof errorClass ? toDetails(err) : undefined));
}

export function featureDetailsOf(err: DomainError): ErrorDetail[] {
  return mappers.flatMap((m) => m(err) ?? []);
}
