import type { RouteOptions } from 'fastify'

type RouteHookName = 'preHandler' | 'onSend'

/**
 * Puts `hook` ahead of the route's own hooks of that name, as an instance-wide hook would run: a
 * step only the routes that need it pass (called from an onRoute hook), where an instance-wide one
 * costs every request a turn through it.
 */
export function prependRouteHook<Name extends RouteHookName>(
  route: RouteOptions,
  name: Name,
  hook: Extract<RouteOptions[Name], readonly unknown[]>[number],
): void {
  route[name] = [hook, ...[route[name] ?? []].flat()] as RouteOptions[Name]
}
