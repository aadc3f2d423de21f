-- Shared by every scenario: thread numbering, a per-thread cursor, the first failed response,
-- and wrk's own latency distribution printed as one JSON line for bench/fhir_core.py.

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_number", #threads)
end

-- Threads stride through the same list from different starts, so no two requests in flight
-- at once hit the same id and write scenarios measure writes, not lock waits on one row.
local thread_total = tonumber(os.getenv("SHAFA_BENCH_THREADS") or "1")
local cursor

function next_index(count)
  cursor = cursor and cursor + thread_total or thread_number - 1
  return cursor % count + 1
end

function response(status, headers, body)
  if status >= 300 and first_error == nil then
    first_error = status .. " " .. string.sub(body or "", 1, 400)
  end
end

local function json_string(text)
  local escaped = text:gsub('[%c"\\]', function(char)
    return string.format("\\u%04x", string.byte(char))
  end)
  return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
  local first = "null"
  for _, thread in ipairs(threads) do
    local error_text = thread:get("first_error")
    if error_text then
      first = json_string(error_text)
      break
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"mean_us":%.1f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"errors":{"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d},"first_error":%s}\n',
    summary.requests, summary.duration, summary.bytes, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, first))
end

-- An access token in $SHAFA_BENCH_TOKEN, when the server asks for one, goes on every request.
function with_token(headers)
  local token = os.getenv("SHAFA_BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return headers
end
