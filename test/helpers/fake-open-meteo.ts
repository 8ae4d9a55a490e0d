import { createServer, type Server } from 'node:http'

/**
 * A local Open-Meteo forecast API: `GET ?latitude&longitude&daily=...&forecast_days=16` answered
 * in Open-Meteo's JSON shape (daily arrays keyed by variable, `time` as local dates). `rainy`
 * lists day offsets (from today) that are wet; `down` answers 503; `garbage` omits `daily`;
 * `padding` adds that many bytes to a valid answer, `streamed` sends it without a Content-Length.
 */
export async function startFakeOpenMeteo() {
  const state = { down: false, garbage: false, rainy: new Set<number>(), requests: 0, padding: 0, streamed: false }
  const server: Server = createServer((request, response) => {
    state.requests += 1
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams
    if (state.down) {
      response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":true,"reason":"busy"}')
      return
    }
    if (state.garbage) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"latitude": 1}')
      return
    }
    const days = Number(query.get('forecast_days') ?? 7)
    const today = Date.parse(new Date().toISOString().slice(0, 10))
    const time = Array.from({ length: days }, (_, i) => new Date(today + i * 86_400_000).toISOString().slice(0, 10))
    const wet = (i: number) => state.rainy.has(i)
    const body = JSON.stringify({
      ...(state.padding > 0 ? { padding: 'x'.repeat(state.padding) } : {}),
      latitude: Number(query.get('latitude')),
      longitude: Number(query.get('longitude')),
      generationtime_ms: 0.1,
      utc_offset_seconds: 0,
      timezone: 'GMT',
      timezone_abbreviation: 'GMT',
      elevation: 1200,
      daily_units: {
        time: 'iso8601',
        weather_code: 'wmo code',
        precipitation_probability_max: '%',
        wind_speed_10m_max: 'km/h',
        temperature_2m_max: '°C',
        temperature_2m_min: '°C',
      },
      daily: {
        time,
        weather_code: time.map((_, i) => (wet(i) ? 63 : 1)),
        precipitation_probability_max: time.map((_, i) => (wet(i) ? 80 : 5)),
        wind_speed_10m_max: time.map(() => 12.5),
        temperature_2m_max: time.map(() => 18.2),
        temperature_2m_min: time.map(() => 4.1),
      },
    })
    if (!state.streamed) {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body)
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    // In pieces, as a server that never says how long its answer is.
    for (let at = 0; at < body.length; at += 65_536) response.write(body.slice(at, at + 65_536))
    response.end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}/v1/forecast`,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
