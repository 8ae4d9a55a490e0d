import { throughCache } from '../../platform/cache/cache.js'
import { fetchJson, type ProviderOptions, retryPolicy } from '../fetch-json.js'
import { roundPosition } from '../geo.js'
import { type ForecastDay, type WeatherProvider, WeatherUnavailableError } from './weather-provider.js'

const DAILY = [
  'weather_code',
  'precipitation_probability_max',
  'wind_speed_10m_max',
  'temperature_2m_max',
  'temperature_2m_min',
] as const
const HALF_HOUR_MS = 30 * 60_000

/**
 * Open-Meteo's forecast API (`WEATHER_API_URL`): 16 days of daily values in the destination's
 * timezone, cached 30 minutes per ~1 km. A body that is not Open-Meteo's daily shape (missing
 * or ragged arrays) is an error, never a forecast of zeros.
 */
export function createOpenMeteoClient(options: ProviderOptions): WeatherProvider {
  const policy = retryPolicy(options)
  const unavailable = (message: string) => new WeatherUnavailableError(`weather provider ${message}`)
  return {
    daily(at) {
      const { lat, lon } = roundPosition(at)
      const url = new URL(options.baseUrl)
      url.search = new URLSearchParams({
        latitude: String(lat),
        longitude: String(lon),
        daily: DAILY.join(','),
        forecast_days: '16',
        timezone: 'auto',
        wind_speed_unit: 'kmh',
      }).toString()
      return throughCache(
        options.cache,
        `weather:${lat}:${lon}`,
        HALF_HOUR_MS,
        async () => parse(await fetchJson(url.toString(), {}, policy, unavailable), url.host),
        options.onOutcome,
      )
    },
  }
}

function parse(body: unknown, target: string): ForecastDay[] {
  const daily = (body as { daily?: Record<string, unknown> } | null)?.daily
  const time = daily?.time
  if (!daily || !Array.isArray(time) || time.some((day) => typeof day !== 'string')) {
    throw new WeatherUnavailableError(`weather provider ${target} sent no daily forecast`)
  }
  const column = (name: (typeof DAILY)[number]) => {
    const values = daily[name]
    if (!Array.isArray(values) || values.length !== time.length) {
      throw new WeatherUnavailableError(`weather provider ${target} sent no ${name} for every day`)
    }
    return values as (number | null)[]
  }
  const [code, rain, wind, max, min] = DAILY.map(column) as [
    (number | null)[],
    (number | null)[],
    (number | null)[],
    (number | null)[],
    (number | null)[],
  ]
  return (time as string[]).flatMap((date, i) => {
    const values = [code[i], rain[i], wind[i], max[i], min[i]]
    // Open-Meteo sends null past the model's horizon: such a day is unknown, not clear.
    if (values.some((v) => typeof v !== 'number')) return []
    const [weatherCode, precipitationProbability, windSpeedMax, temperatureMax, temperatureMin] = values as number[]
    return [
      { date, weatherCode, precipitationProbability, windSpeedMax, temperatureMax, temperatureMin },
    ] as ForecastDay[]
  })
}
