-- The load mix for wrk (benchmarks/reliability/load.py sets everything through SOTERIA_*).
--
-- One connection per wrk thread, threads spread round-robin over the gateway replicas, so
-- each thread knows which kind of request its one connection is waiting for. Each thread
-- draws: an indicator query (GraphQL), a push of a one-row CSV with a fresh Idempotency-Key,
-- or an audit read, in the shares given. done() prints one JSON line for the harness.

local ports = {}
for port in string.gmatch(os.getenv("SOTERIA_PORTS"), "%d+") do
  table.insert(ports, port)
end
local query_share = tonumber(os.getenv("SOTERIA_QUERY_SHARE"))
local push_share = tonumber(os.getenv("SOTERIA_PUSH_SHARE"))
local threads = {}
local created = 0

function setup(thread)
  local port = ports[(created % #ports) + 1]
  thread.addr = wrk.lookup("127.0.0.1", port)[1]
  thread:set("thread_id", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  issued = {query = 0, push = 0, audit = 0}
  answered = {}
  current = nil
  math.randomseed(thread_id * 7919 + 17)
  queries = {}
  for line in io.lines(os.getenv("SOTERIA_QUERIES_FILE")) do
    table.insert(queries, line)
  end
  pushers = {}
  for force, token in string.gmatch(os.getenv("SOTERIA_PUSHERS"), "([%w-]+)=([^,]+)") do
    table.insert(pushers, {force = force, token = token})
  end
  pusher = pushers[(thread_id % #pushers) + 1]
  template = os.getenv("SOTERIA_PUSH_TEMPLATE")
  query_headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SOTERIA_ANALYST_TOKEN"),
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/graphql-response+json",
    ["Soteria-Purpose"] = "performance-monitoring",
  }
  audit_method = os.getenv("SOTERIA_AUDIT_METHOD")
  audit_path = os.getenv("SOTERIA_AUDIT_PATH")
  audit_body = os.getenv("SOTERIA_AUDIT_BODY")
  if audit_body == "" then audit_body = nil end
  audit_headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SOTERIA_AUDITOR_TOKEN"),
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/graphql-response+json",
    ["Soteria-Purpose"] = "audit",
  }
  run_id = os.getenv("SOTERIA_RUN_ID")
end

function request()
  local draw = math.random()
  if draw < query_share then
    current = "query"
    issued.query = issued.query + 1
    return wrk.format("POST", "/graphql", query_headers, queries[math.random(#queries)])
  elseif draw < query_share + push_share then
    current = "push"
    issued.push = issued.push + 1
    local ref = string.format("L%s-%d-%d", run_id, thread_id, issued.push)
    local headers = {
      ["Authorization"] = "Bearer " .. pusher.token,
      ["Content-Type"] = "text/csv",
      ["Idempotency-Key"] = ref,
    }
    local body = string.gsub(template, "{REF}", ref)
    return wrk.format("POST", "/v1/forces/" .. pusher.force .. "/submissions", headers, body)
  end
  current = "audit"
  issued.audit = issued.audit + 1
  return wrk.format(audit_method, audit_path, audit_headers, audit_body)
end

function response(status, headers, body)
  local key = current .. ":" .. status
  if body ~= nil and string.find(body, '"errors"', 1, true) then
    key = key .. "e"  -- a GraphQL answer with errors, whatever its status
  end
  answered[key] = (answered[key] or 0) + 1
end

local function add(into, from)
  for key, value in pairs(from) do
    into[key] = (into[key] or 0) + value
  end
end

local function object(map)
  local parts = {}
  for key, value in pairs(map) do
    table.insert(parts, string.format("%q:%d", key, value))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local all_issued, all_answered = {}, {}
  for _, thread in ipairs(threads) do
    add(all_issued, thread:get("issued"))
    add(all_answered, thread:get("answered"))
  end
  local errors = summary.errors
  local percentiles = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    table.insert(percentiles, string.format("%q:%d", tostring(p), latency:percentile(p)))
  end
  io.write(string.format(
    'SOTERIA-RESULT {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"latency_us":{%s},' ..
    '"latency_max_us":%d,"latency_mean_us":%d,"issued":%s,"answered":%s}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, table.concat(percentiles, ","), latency.max, latency.mean,
    object(all_issued), object(all_answered)))
end
