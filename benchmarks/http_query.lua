-- wrk script for benchmarks/http_query.py: a real bearer token, a declared purpose, and
-- a JSON body from a file (POST) or none (GET). Counts 200 answers whose body carries
-- GraphQL "errors" and prints "graphql_errors N" at the end.
--   SOTERIA_TOKEN=... SOTERIA_PURPOSE=... [SOTERIA_BODY_FILE=body.json] wrk -s http_query.lua URL
local token = os.getenv("SOTERIA_TOKEN")
local body_file = os.getenv("SOTERIA_BODY_FILE")
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Soteria-Purpose"] = os.getenv("SOTERIA_PURPOSE") or "performance-monitoring"
wrk.headers["Accept"] = "application/graphql-response+json, application/json"
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

errors = 0
function response(status, headers, body)
  if status == 200 and string.find(body, '"errors"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("errors")
  end
  io.write(string.format("graphql_errors %d\n", total))
end
