-- wrk script for bench/worker.sh. With WRK_BODY set, sends it as a JSON POST.
-- At the end prints one machine-readable line: WRK_JSON {...}.
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"rps":%.1f,"p50_ms":%.2f,"p99_ms":%.2f,"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
