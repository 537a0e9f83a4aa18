-- Authorization-code exchange with a fresh code per request. Arguments: PATH CODES_FILE TEMPLATE_FILE THREADS.
-- CODES_FILE has one unused code per line; thread i of n takes lines i, i+n, i+2n, ... so no two threads send
-- the same code. TEMPLATE_FILE is the form body with the placeholder {code}. When a thread has used all its
-- codes it starts over, which the server must reject; the counter "reused_codes" reports how often.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
table.insert(bench_counters, "reused_codes")

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  thread:set("reused_codes", 0)
  next_id = next_id + 1
  bench_register_thread(thread)
end

local codes = {}
local position = 0
local template
local path

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
      if line_number % count == thread_id then table.insert(codes, url_encode(line)) end
      line_number = line_number + 1
    end
  end
  local file = assert(io.open(args[3], "rb"))
  template = file:read("*a")
  file:close()
  reused_codes = 0
end

function request()
  position = position + 1
  if position > #codes then
    position = 1
    reused_codes = reused_codes + 1
  end
  local code = codes[position]
  local body = template:gsub("{code}", function() return code end)
  return wrk.format("POST", path, { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
end
