-- wrk script used by bench/run.sh: POST one fixed JSON body (read from a file) with extra
-- headers, and print one machine-readable line at the end:
--   RESULT {"requests":…,"duration_us":…,"p50_us":…,…,"err_status":…}
-- latencies in microseconds; err_status counts answers with status >= 400 (wrk's
-- "Non-2xx or 3xx responses").
-- Environment:
--   WRK_BODY_FILE  path of the request body (required)
--   WRK_HEADERS    extra request headers, one "Name: value" per line (optional)
local path = os.getenv("WRK_BODY_FILE")
if not path then error("WRK_BODY_FILE is not set") end
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
