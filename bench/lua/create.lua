-- Create: POST new Patients and Observations in turn, every body different; the Observations
-- refer to the loaded patients pat-000001 .. pat-$SHAFA_BENCH_PATIENTS.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}
local families = {"Əliyev", "Məmmədova", "Hüseynov", "Quliyeva", "Həsənli", "Kərimova"}
local givens = {"Rəşad", "Aysel", "Orxan", "Günel", "Tural", "Nərgiz"}
local cities = {"Bakı", "Gəncə", "Sumqayıt", "Şəki"}
local patients
local created = 0

local patient_body = '{"resourceType":"Patient",' ..
  '"identifier":[{"system":"https://fhir.shafa.az/sid/fin","value":"W%d%05d"}],' ..
  '"name":[{"family":"%s","given":["%s"]}],"gender":"%s","birthDate":"%04d-%02d-%02d",' ..
  '"telecom":[{"system":"phone","value":"+99450%07d","use":"mobile"}],' ..
  '"address":[{"city":"%s","country":"AZ"}]}'

local observation_body = '{"resourceType":"Observation","status":"final",' ..
  '"category":[{"coding":[{"system":' ..
  '"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],' ..
  '"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},' ..
  '"subject":{"reference":"Patient/pat-%06d"},' ..
  '"effectiveDateTime":"2025-01-%02dT%02d:%02d:00+04:00",' ..
  '"valueQuantity":{"value":%d,"unit":"beats/minute","system":"http://unitsofmeasure.org",' ..
  '"code":"/min"}}'

function init(args)
  patients = tonumber(os.getenv("SHAFA_BENCH_PATIENTS"))
end

function request()
  created = created + 1
  local pick = created % 6 + 1
  if created % 2 == 0 then
    local body = string.format(patient_body, thread_number % 10, created % 100000,
      families[pick], givens[pick], pick % 2 == 0 and "female" or "male",
      1940 + created % 80, created % 12 + 1, created % 28 + 1, created % 10000000,
      cities[created % 4 + 1])
    return wrk.format("POST", wrk.path .. "/Patient", headers, body)
  end
  local body = string.format(observation_body, next_index(patients), created % 28 + 1,
    created % 24, created % 60, 50 + created % 80)
  return wrk.format("POST", wrk.path .. "/Observation", headers, body)
end
