-- wrk script of the load script (load_wrk_test.go): POSTs every body of a
-- prepared file exactly once, as ETpay's first deliveries would arrive.
--
--   wrk -t2 -c32 -d120s --timeout 30s -s testdata/wrk_deliveries.lua URL -- DIR
--
-- DIR holds bodies-0.txt, bodies-1.txt, ...: one JSON body a line, one file
-- per wrk thread. A thread that has sent its last body gives its idle
-- connections an empty request (nothing is written, so no extra request
-- reaches the server and none enters the latency figures) and stops once its
-- last answer is in. wrk itself sleeps for the whole -d whatever its threads
-- do, so each thread prints "start ID" at its first request and "done ID
-- answered non2xx" at its last answer, flushed, for the caller to time the
-- run and then end wrk with SIGINT; done() then prints one JSON line, with
-- how many bodies each thread sent (the first ones of its file).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1]
  requests = {}
  local headers = { ["Content-Type"] = "application/json" }
  for line in io.lines(dir .. "/bodies-" .. id .. ".txt") do
    if line ~= "" then
      table.insert(requests, wrk.format("POST", nil, headers, line))
    end
  end
  sent, answered, non2xx, first_bad = 0, 0, 0, ""
  -- wrk 4 calls request() once on its first thread before running, to
  -- check the request parses (script_verify_request): that call must not
  -- use up a body.
  verifying = id == 0
end

function request()
  if verifying then
    verifying = false
    return requests[1]
  end
  if sent == #requests then
    return ""
  end
  if sent == 0 then
    io.write("start " .. id .. "\n")
    io.stdout:flush()
  end
  sent = sent + 1
  return requests[sent]
end

function response(status, headers, body)
  answered = answered + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(body or "", 1, 80)
    end
  end
  if answered == #requests then
    io.write("done " .. id .. " " .. answered .. " " .. non2xx .. "\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, _)
  local sent_all, answered_all, non2xx_all, first_bad_all = 0, 0, 0, ""
  local by_thread = {}
  for _, t in ipairs(threads) do
    table.insert(by_thread, t:get("sent"))
    sent_all = sent_all + t:get("sent")
    answered_all = answered_all + t:get("answered")
    non2xx_all = non2xx_all + t:get("non2xx")
    if first_bad_all == "" then
      first_bad_all = t:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format('{"sent":%d,"sent_by_thread":[%s],"answered":%d,"non2xx":%d,"first_bad":%s,"requests":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    sent_all, table.concat(by_thread, ","), answered_all, non2xx_all, quote(first_bad_all), summary.requests,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout))
  io.stdout:flush()
end
