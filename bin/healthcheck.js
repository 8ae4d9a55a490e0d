#!/usr/bin/env node
// The image's HEALTHCHECK, for every role: the API answers /health on PORT; a worker or
// scheduler answers it on METRICS_PORT. Healthy when either answers 200 within 3 s.
const ports = [process.env.METRICS_PORT, process.env.PORT ?? '8000'].filter(Boolean)
const probe = (port) =>
  fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) }).then(
    (response) => response.ok,
    () => false,
  )
const results = await Promise.all(ports.map(probe))
process.exit(results.some(Boolean) ? 0 : 1)
