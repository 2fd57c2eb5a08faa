/**
 * The one error the pure protocol core throws: the input (a narinfo, a store path, a key, …) is not
 * well-formed. `what` names the thing that failed to parse; the message is a short detail for logs.
 * Callers map it to a status; the detail never goes on the wire.
 */
export class FormatError extends Error {
  readonly kind = "format";

  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(detail);
    this.name = "FormatError";
  }
}
