const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Ids are UUIDs (docs/api.md); a user id is the token's `sub`. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value)
