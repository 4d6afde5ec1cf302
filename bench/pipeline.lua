-- pipeline.lua -- HTTP pipelining for wrk: every wrk.request sends DEPTH
-- GET requests back to back in one write, so DEPTH requests are in flight
-- per connection. wrk counts each response as a request.
--
--   wrk -t1 -c 64 -d 5s --latency -s bench/pipeline.lua http://127.0.0.1:PORT/ -- 16

local batch

init = function(args)
	local depth = tonumber(args[1]) or 16
	local reqs = {}
	for i = 1, depth do
		reqs[i] = wrk.format(nil, "/")
	end
	batch = table.concat(reqs)
end

request = function()
	return batch
end
