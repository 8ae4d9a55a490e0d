import type { ColumnType } from 'kysely'

// How PostgreSQL returns and takes the columns the table types share.
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>
export type Timestamp = ColumnType<Date, Date | string, Date | string>
export type Numeric = ColumnType<string, number | string, number | string>
