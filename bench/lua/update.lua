-- Update: PUT to loaded ids in turn, a Patient then one of its Observations, every body
-- carrying a counter that only increases so no update repeats the stored content.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}
local observations_per_patient = 5
local encounters_per_patient = 2
local patients
local updates = 0
local patient

local patient_body = '{"resourceType":"Patient","id":"pat-%06d",' ..
  '"identifier":[{"system":"https://fhir.shafa.az/sid/fin","value":"U%06d"}],' ..
  '"name":[{"family":"Məmmədov","given":["Elvin","update %d"]}],"gender":"male",' ..
  '"birthDate":"1980-05-17","telecom":[{"system":"phone","value":"+99455%07d"}],' ..
  '"address":[{"city":"Bakı","country":"AZ"}]}'

local observation_body = '{"resourceType":"Observation","id":"obs-%06d-%d","status":"amended",' ..
  '"category":[{"coding":[{"system":' ..
  '"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],' ..
  '"code":{"coding":[{"system":"http://loinc.org","code":"2339-0",' ..
  '"display":"Glucose [Mass/volume] in Blood"}]},' ..
  '"subject":{"reference":"Patient/pat-%06d"},"encounter":{"reference":"Encounter/enc-%06d-%d"},' ..
  '"effectiveDateTime":"2024-11-20T09:30:00+04:00",' ..
  '"valueQuantity":{"value":%d.%d,"unit":"mg/dL","system":"http://unitsofmeasure.org",' ..
  '"code":"mg/dL"},"note":[{"text":"correction %d"}]}'

function init(args)
  patients = tonumber(os.getenv("SHAFA_BENCH_PATIENTS"))
end

function request()
  updates = updates + 1
  if updates % 2 == 1 then
    patient = next_index(patients)
    local body = string.format(patient_body, patient, updates % 1000000, updates,
      updates % 10000000)
    return wrk.format("PUT", string.format("%s/Patient/pat-%06d", wrk.path, patient), headers,
      body)
  end
  local number = updates % observations_per_patient + 1
  local encounter = (number - 1) % encounters_per_patient + 1
  local body = string.format(observation_body, patient, number, patient, patient, encounter,
    70 + updates % 200, updates % 10, updates)
  return wrk.format("PUT", string.format("%s/Observation/obs-%06d-%d", wrk.path, patient, number),
    headers, body)
end
