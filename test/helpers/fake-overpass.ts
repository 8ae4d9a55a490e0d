import { createServer, type Server } from 'node:http'

/**
 * A local Overpass API: answers `nwr[...](around:R,lat,lon);out center` queries in Overpass JSON
 * with a few places north of the point (nodes, and a way with a center as real answers have),
 * or 503 while `down` is set, 429 for the next `busyTimes` requests, a body without elements
 * while `garbage` is set.
 */
export async function startFakeOverpass() {
  const state = { down: false, busyTimes: 0, garbage: false, requests: 0, queries: [] as string[] }
  const server: Server = createServer((request, response) => {
    let body = ''
    request.on('data', (chunk) => {
      body += chunk
    })
    request.on('end', () => {
      state.requests += 1
      if (state.down) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('server too busy')
        return
      }
      if (state.busyTimes > 0) {
        state.busyTimes -= 1
        response.writeHead(429, { 'content-type': 'text/plain' }).end('rate limited')
        return
      }
      if (state.garbage) {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"remark": "runtime error"}')
        return
      }
      const query = new URLSearchParams(body).get('data') ?? ''
      state.queries.push(query)
      const around = /around:(\d+),(-?[\d.]+),(-?[\d.]+)/.exec(query)
      if (!around) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('bad query')
        return
      }
      const lat = Number(around[2])
      const lon = Number(around[3])
      const kind = query.includes('"amenity"="fuel"') ? 'fuel' : 'car_repair'
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          version: 0.6,
          generator: 'Overpass API (fake)',
          osm3s: { timestamp_osm_base: '2026-11-23T00:00:00Z' },
          elements: [
            { type: 'node', id: 1, lat: lat + 0.02, lon, tags: { amenity: kind, name: `${kind} two` } },
            { type: 'node', id: 2, lat: lat + 0.005, lon, tags: { amenity: kind, name: `${kind} one` } },
            { type: 'way', id: 3, center: { lat: lat + 0.05, lon }, tags: { amenity: kind, name: `${kind} three` } },
            { type: 'node', id: 4, lat: lat + 0.09, lon, tags: { amenity: kind, brand: `${kind} four` } },
          ],
        }),
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/api/interpreter`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
