import { expect } from "chai";
import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/**
 * Walks a List to its end and returns every item id in order; fails when an id repeats or a page
 * is larger than asked. `fetchPage` calls the List with the given page size and token.
 */
export async function walkPages<T extends { id: string }>(
  fetchPage: (pageSize: number, pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
  pageSize: number,
): Promise<string[]> {
  const seen: string[] = [];
  const ids = new Set<string>();
  let token = "";
  for (let pages = 0; ; pages++) {
    expect(pages, "pages walked (a token loop?)").to.be.lessThan(100_000);
    const page = await fetchPage(pageSize, token);
    expect(page.items.length, "page size").to.be.at.most(pageSize);
    for (const item of page.items) {
      expect(ids.has(item.id), `id ${item.id} seen twice`).to.equal(false);
      ids.add(item.id);
      seen.push(item.id);
    }
    if (page.nextPageToken === "") return seen;
    expect(page.items.length, "a page before the last is full").to.equal(pageSize);
    token = page.nextPageToken;
  }
}

/** The ConnectError a call failed with (fails the test when it succeeded). */
export async function connectErrorOf(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (err) {
    return ConnectError.from(err);
  }
  expect.fail("expected the call to fail");
}

/** The fields named by the error's google.rpc.BadRequest detail. */
export function violatedFields(err: ConnectError): string[] {
  return err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
}

/** The reasons of the error's google.rpc.ErrorInfo details. */
export function errorReasons(err: ConnectError): string[] {
  return err.findDetails(ErrorInfoSchema).map((d) => d.reason);
}
