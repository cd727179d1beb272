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
  -- The script's start (wall clock, seconds), shared by both threads and both runs.
  t0 = tonumber(os.getenv("OSECWATCH_BENCH_T0") or os.time())
  counter = 0
  second = -1
  in_second = 0
end

local corridors = { "PH", "PH", "PH", "TH", "VN", "CO" }

function request()
  counter = counter + 1
  local n = counter
  -- Event time runs 12 hours per wall-clock second on one timeline for both threads and both
  -- runs (the warm-up and the measured run), starting 40 days before the wall clock: the
  -- 30-day windows slide, both threads stay within the service's allowed lateness (24 h) of
  -- each other, and no payment is dated in the future (the service refuses those).
  local now = os.time()
  if now ~= second then
    second = now
    in_second = 0
  end
  in_second = in_second + 1
  local t = t0 - 40 * 86400 + (now - t0) * 43200 + math.min(in_second * 3, 43199) + tid
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
