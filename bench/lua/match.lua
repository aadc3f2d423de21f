-- Patient/$match: POST one Parameters body a request, cycling through the lines of
-- $SHAFA_BENCH_BODIES (one JSON body a line), written by bench/mpi_match.py.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local bodies = {}
local headers = with_token({["Content-Type"] = "application/fhir+json"})
local path

function init(args)
  for line in io.lines(os.getenv("SHAFA_BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  path = wrk.path .. "/Patient/$match"
end

function request()
  return wrk.format("POST", path, headers, bodies[next_index(#bodies)])
end
