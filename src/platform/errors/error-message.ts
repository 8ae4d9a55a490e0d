/** The message of whatever was thrown: an Error's own, or the thrown value as text (a library may throw a string). */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))
