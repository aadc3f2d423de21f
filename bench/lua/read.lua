-- Read by id: GET Type/id, cycling through the ids listed one a line in $SHAFA_BENCH_IDS.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local ids = {}
local headers = with_token({["Accept"] = "application/fhir+json"})

function init(args)
  for line in io.lines(os.getenv("SHAFA_BENCH_IDS")) do
    ids[#ids + 1] = wrk.path .. "/" .. line
  end
end

function request()
  return wrk.format("GET", ids[next_index(#ids)], headers)
end
