/**
 * Provider answers are read with a size cap: a provider (or whatever answers at its URL) sending
 * an endless or huge body would otherwise hold a worker's memory for as long as it likes.
 */

/** What a weather or places answer may weigh: far above a real one (tens of KB), far below harm. */
export const PROVIDER_MAX_BODY_BYTES = 4 * 1024 * 1024
/** What a model's answer may weigh: a structured reply is a few KB. */
export const MODEL_MAX_BODY_BYTES = 1024 * 1024

export class BodyTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${maxBytes} bytes`)
    this.name = 'BodyTooLargeError'
  }
}

/** The body, cut off with BodyTooLargeError once more than `maxBytes` arrived (or were announced). */
function boundedStream(response: Response, maxBytes: number): ReadableStream<Uint8Array> | null {
  if (!response.body) return null
  let seen = 0
  return response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength
        if (seen > maxBytes) controller.error(new BodyTooLargeError(maxBytes))
        else controller.enqueue(chunk)
      },
    }),
  )
}

const announcedTooLarge = (response: Response, maxBytes: number) =>
  Number(response.headers.get('content-length') ?? 0) > maxBytes

/** A response's body as text, at most `maxBytes` of it (a larger one is refused, not read). */
export async function boundedText(response: Response, maxBytes: number): Promise<string> {
  if (announcedTooLarge(response, maxBytes)) {
    await response.body?.cancel()
    throw new BodyTooLargeError(maxBytes)
  }
  return new Response(boundedStream(response, maxBytes)).text()
}

/**
 * `fetch` whose responses' bodies stop at `maxBytes`, for a client that reads them itself (the AI
 * SDK takes a `fetch`): reading past the cap fails, and the caller's error handling takes over.
 */
export function boundedFetch(maxBytes: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init)
    if (announcedTooLarge(response, maxBytes)) {
      await response.body?.cancel()
      throw new BodyTooLargeError(maxBytes)
    }
    return new Response(boundedStream(response, maxBytes), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}
