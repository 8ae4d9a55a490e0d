/** One day of a forecast, in the destination's local calendar. */
export interface ForecastDay {
  date: string
  weatherCode: number
  precipitationProbability: number
  windSpeedMax: number
  temperatureMax: number
  temperatureMin: number
}

/** Daily forecast around a point (up to 16 days). Throws WeatherUnavailableError when it cannot. */
export interface WeatherProvider {
  daily(at: { lat: number; lon: number }): Promise<ForecastDay[]>
}

export class WeatherUnavailableError extends Error {
  override name = 'WeatherUnavailableError'
}
