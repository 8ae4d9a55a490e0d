import type { paths } from './openapi.js'

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never

/** An alert as GET /v1/alerts lists it and /v1/stream sends it. */
export type Alert = Json<paths['/v1/alerts']['get']['responses'][200]>['items'][number]
