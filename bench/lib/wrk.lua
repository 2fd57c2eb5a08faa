-- wrk script for the benchmarks: prints one machine-readable line (WRK_JSON {...}) when done.
-- Environment (read when the script loads, in every thread):
--   WRK_PATHS=<file>      request these paths (one a line) instead of the URL's path; thread k of n takes lines
--                         k, k+n, k+2n, … starting at line WRK_OFFSET, so no two requests of a run share a path
--                         until the list runs out (then it wraps, counted as "wrapped").
--   WRK_THREADS=<n>       the -t given to wrk (needed to interleave the paths).
--   WRK_EXPECT=<h>=<v>    count responses whose header <h> equals <v> (matched) or not (mismatched).
-- Without WRK_PATHS and WRK_EXPECT no request()/response() function is defined, so wrk keeps its static fast path.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local paths_file = os.getenv("WRK_PATHS")
local expect = os.getenv("WRK_EXPECT")
local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
local offset = tonumber(os.getenv("WRK_OFFSET") or "0")

function init(args)
  matched = 0
  mismatched = 0
  wrapped = 0
  if paths_file then
    paths = {}
    for line in io.lines(paths_file) do
      if line ~= "" then paths[#paths + 1] = line end
    end
    nxt = offset + id
  end
end

if paths_file then
  function request()
    local k = nxt
    nxt = nxt + nthreads
    if k >= #paths then
      wrapped = wrapped + 1
      k = k % #paths
    end
    return wrk.format(nil, paths[k + 1])
  end
end

if expect then
  local name, value = expect:match("^([^=]+)=(.*)$")
  name = name:lower()
  function response(status, headers, body)
    local got = nil
    for k, v in pairs(headers) do
      if k:lower() == name then got = v end
    end
    if got == value then matched = matched + 1 else mismatched = mismatched + 1 end
  end
end

function done(summary, latency, requests)
  local m, mm, w = 0, 0, 0
  for _, t in ipairs(threads) do
    m = m + (t:get("matched") or 0)
    mm = mm + (t:get("mismatched") or 0)
    w = w + (t:get("wrapped") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,"matched":%d,"mismatched":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max, m, mm, w))
end
