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
  -- The warm-up's wall seconds and the days of event time it covers: enough to fill the
  -- engine's longest window (365 days) with the workload's senders, so that memory is in its
  -- steady state when the measured run starts.
  warm_s = tonumber(os.getenv("OSECWATCH_BENCH_WARM_S") or "5")
  warm_days = tonumber(os.getenv("OSECWATCH_BENCH_WARM_DAYS") or "2.5")
  counter = 0
  second = -1
  in_second = 0
end

local corridors = { "PH", "PH", "PH", "TH", "VN", "CO" }

function request()
  counter = counter + 1
  local n = counter
  -- Event time runs on one timeline for both threads and both runs: during the warm-up
  -- (its first warm_s wall seconds) it covers warm_days days, then 12 hours per wall-clock
  -- second, ending about 40 days before the wall clock: the windows slide, both threads stay
  -- within the service's allowed lateness (24 h) of each other in the measured run, and no
  -- payment is dated in the future (the service refuses those).
  local now = os.time()
  if now ~= second then
    second = now
    in_second = 0
  end
  in_second = in_second + 1
  local e = now - t0
  local warm_rate = warm_days * 86400 / warm_s
  local start = t0 - 40 * 86400 - warm_days * 86400
  local t
  if e < warm_s then
    t = start + e * warm_rate + math.min(in_second * 3, warm_rate - 1) + tid
  else
    t = start + warm_days * 86400 + (e - warm_s) * 43200 + math.min(in_second * 3, 43199) + tid
  end
  t = math.floor(t)
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
