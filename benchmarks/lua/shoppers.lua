-- wrk script: each request comes from the next of the consenting shoppers the benchmark
-- prepared (round-robin). Mode "frames" posts one camera frame, like the browser does;
-- mode "get" sends a plain GET with the same session (the baseline).
-- Arguments: SHOPPERS_FILE FRAME_FILE SEQ_OFFSET MODE
local shoppers, frame, mode = {}, nil, "frames"
local counter = 0
statuses = {} -- global: done() reads it from every thread with thread:get

function init(args)
  mode = args[4] or "frames"
  for line in io.lines(args[1]) do
    local session, csrf, product, view = line:match("([^|]+)|([^|]+)|([^|]+)|([^|]+)")
    shoppers[#shoppers + 1] = { session = session, csrf = csrf, product = product, view = view }
  end
  local f = assert(io.open(args[2], "rb")); frame = f:read("*all"); f:close()
  counter = tonumber(args[3] or "0") * 1000000
end

function request()
  counter = counter + 1
  local s = shoppers[(counter % #shoppers) + 1]
  local cookie = "sessionid=" .. s.session .. "; csrftoken=" .. s.csrf
  if mode == "get" then
    return wrk.format("GET", wrk.path, { ["Cookie"] = cookie })
  end
  -- What the browser sends: the raw JPEG as the body, the metadata in the query string.
  local query = string.format("?product=%s&view=%s&seq=%d&ts=0", s.product, s.view, counter % 1000000)
  return wrk.format("POST", wrk.path .. query, {
    ["Content-Type"] = "image/jpeg",
    ["Cookie"] = cookie,
    ["X-CSRFToken"] = s.csrf,
  }, frame)
end

function response(status)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread)
  thread:set("id", #threads)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do counts[status] = (counts[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(counts) do parts[#parts + 1] = string.format('"%d": %d', status, n) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, ' ..
    '"max_ms": %.3f, "errors_socket": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end
