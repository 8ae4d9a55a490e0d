/** PostgreSQL's foreign_key_violation: a row named a parent that does not exist (or, by a composite key, is another user's). */
export const isForeignKeyViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === '23503'
