-- Search: GET one query path a request, cycling through the lines of $SHAFA_BENCH_QUERIES
-- (e.g. "Patient?identifier=..."), sampled from the loaded data by bench/fhir_search.py.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local queries = {}
local headers = with_token({["Accept"] = "application/fhir+json"})

function init(args)
  for line in io.lines(os.getenv("SHAFA_BENCH_QUERIES")) do
    queries[#queries + 1] = wrk.path .. "/" .. line
  end
end

function request()
  return wrk.format("GET", queries[next_index(#queries)], headers)
end
