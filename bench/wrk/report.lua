-- Shared by the benchmark's wrk scripts: done() prints one line "WRK_JSON {...}" that bench/run.mjs parses.
-- Latencies are in microseconds. Each script may add counters of its own, read from every thread.

bench_threads = {}
bench_counters = {}

function bench_register_thread(thread)
  table.insert(bench_threads, thread)
end

function done(summary, latency, requests)
  local extra = {}
  for _, name in ipairs(bench_counters) do
    local total = 0
    for _, thread in ipairs(bench_threads) do
      total = total + (tonumber(thread:get(name)) or 0)
    end
    table.insert(extra, string.format('"%s":%d', name, total))
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"counters":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(extra, ',')))
end
