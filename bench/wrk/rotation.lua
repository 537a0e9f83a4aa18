-- Refresh with rotation: every request must present the latest refresh token of its chain. Arguments:
-- PATH TOKENS_FILE TEMPLATE_FILE THREADS. TOKENS_FILE has one refresh token per line, each from its own grant;
-- thread i of n takes lines i, i+n, ... TEMPLATE_FILE is the form body with the placeholder {token}.
--
-- wrk has no per-connection state in Lua, so each thread keeps a queue of the tokens that are not in flight.
-- wrk calls response() for a finished request before it calls request() for that connection's next one, so
-- response() puts the successor from the body into the queue and request() takes the oldest token out. wrk
-- also calls request() once on the first thread before it connects, to check the script, and throws that
-- request away. So the file needs one token per connection plus one per thread. Then the queue is never
-- empty while every response succeeds. After a failed
-- response the chain's latest token is unknown; when the queue then runs dry, request() sends the token
-- received last, which counts in "reused_tokens" (within our server's grace window that returns the same
-- successor; the peers reject it).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
table.insert(bench_counters, "reused_tokens")
table.insert(bench_counters, "failed_responses")

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  thread:set("reused_tokens", 0)
  thread:set("failed_responses", 0)
  next_id = next_id + 1
  bench_register_thread(thread)
end

local queue = {}
local head = 1
local tail = 0
local last_token
local template
local path

local function push(token)
  tail = tail + 1
  queue[tail] = token
end

local function pop()
  if head > tail then return nil end
  local token = queue[head]
  queue[head] = nil
  head = head + 1
  return token
end

local function url_encode(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  path = args[1]
  local thread_id = tonumber(id)
  local count = tonumber(args[4])
  local line_number = 0
  for line in io.lines(args[2]) do
    if line ~= "" then
      if line_number % count == thread_id then push(line) end
      line_number = line_number + 1
    end
  end
  last_token = queue[tail]
  local file = assert(io.open(args[3], "rb"))
  template = file:read("*a")
  file:close()
  reused_tokens = 0
  failed_responses = 0
end

function request()
  local token = pop()
  if token == nil then
    token = last_token
    reused_tokens = reused_tokens + 1
  end
  local encoded = url_encode(token)
  local body = template:gsub("{token}", function() return encoded end)
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end

function response(status, headers, body)
  local token = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then
    push(token)
    last_token = token
  else
    failed_responses = failed_responses + 1
  end
end
