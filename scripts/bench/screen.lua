-- wrk script for scripts/bench-serve.sh: every request screens one new payment.
-- A third go to high-risk corridors (so the engine does real work), the rest are domestic.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  token = os.getenv("OSECWATCH_BENCH_TOKEN")
  run = os.getenv("OSECWATCH_BENCH_RUN") or "r"
  counter = 0
end

local corridors = { "PH", "PH", "PH", "TH", "VN", "CO" }

function request()
  counter = counter + 1
  local n = counter
  -- Event time advances 150 s per request and thread, so a 60-second run covers about three
  -- years of payments and the engine's windows slide: state reaches its steady size.
  local t = 1735689600 + n * 150 + tid * 7
  local country = "DE"
  local channel = "card"
  local mcc = ',"merchant_category":"5411"'
  if n % 3 == 0 then
    country = corridors[(n % #corridors) + 1]
    channel = "mto"
    mcc = ""
  end
  local body = string.format(
    '{"txn_id":"W%s-%d-%d","timestamp":"%s+00:00","sender_id":"S%d","sender_name":"Max Muster%d","sender_country":"DE","recipient_id":"R%d-%s","recipient_name":"Rosa Lim","recipient_country":"%s","amount":"%d.00","currency":"EUR","channel":"%s"%s}',
    run, tid, n, os.date("!%Y-%m-%dT%H:%M:%S", t),
    n % 20000, n % 20000, n % 3000, country, country, 10 + n % 90, channel, mcc)
  return wrk.format("POST", "/v1/screen",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end

function done(summary, latency, requests)
  io.write(string.format("BENCH requests=%d errors_status=%d errors_connect=%d errors_timeout=%d duration_s=%.1f\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.timeout, summary.duration / 1e6))
  io.write(string.format("BENCH rate=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
