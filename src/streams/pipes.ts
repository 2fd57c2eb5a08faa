/**
 * Gives a stream a known length (FixedLengthStream), which R2 needs to store a streamed body and which lets the
 * runtime send Content-Length. The pipe's own rejection is caught here: the consumer sees the same error on its
 * side, and workerd would otherwise report the pipe's promise as an unhandled rejection.
 */
export function withKnownLength(
  body: ReadableStream<Uint8Array>,
  length: number | undefined,
): ReadableStream<Uint8Array> {
  if (length === undefined) return body;
  const fixed = new FixedLengthStream(length);
  body.pipeTo(fixed.writable).catch(() => undefined);
  return fixed.readable;
}
