/** The demo API's pretend weather: a stable forecast per city. */
const CONDITIONS = ['sunny', 'cloudy', 'rain', 'snow', 'windy'] as const;

/** A stable pseudo-forecast, so the demo's answers do not change between runs (the same as the Nest example's). */
export function forecastFor(city: string) {
  let hash = 0;
  for (const char of city.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return { city, temperatureC: (hash % 35) - 5, conditions: CONDITIONS[hash % CONDITIONS.length] };
}
