/** No context, or no token in it: the user must run `edgehubctl login`. Exit code 4. */
export class NotLoggedInError extends Error {
  override readonly name = "NotLoggedInError";
}
