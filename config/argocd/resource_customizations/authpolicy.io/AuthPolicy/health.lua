-- Argo CD health check for authpolicy.io/AuthPolicy (authpolicy-operator).
-- Docs: docs/argocd.md (install, tests) and docs/authpolicy.md (conditions)
-- in the authpolicy-operator repository; every condition reason is listed in
-- its src/api/reasons.ts.
--   Healthy      Ready=True for the current generation
--   Progressing  no status yet, status for an older generation, the clock
--                area still waiting for data, or only a rotation or rollout
--                under way (LegacyTokensReady Rotating, WorkloadsRestarted
--                RestartsPending)
--   Degraded     Ready=False for any other reason, or an area the operator
--                cannot observe (Forbidden, ObserveFailed)
-- Runs with Argo CD's default sandbox (no string or math library).
local hs = {}

-- Reasons of a False area condition that mean "under way", not "broken".
local inProgress = {
  LegacyTokensReady = { Rotating = true },
  WorkloadsRestarted = { RestartsPending = true },
}
-- Reasons of an Unknown area condition that only mean "not measured yet".
local notYetKnown = { NoClockData = true }

local function describe(c)
  return c.type .. " is " .. c.status .. " (" .. (c.reason or "") .. "): " .. (c.message or "")
end

local generation = obj.metadata.generation or 0
local status = obj.status or {}
if status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for authpolicy-operator to report status for generation " .. generation
  return hs
end
if status.observedGeneration ~= generation then
  hs.status = "Progressing"
  hs.message = "Waiting for authpolicy-operator to observe generation " .. generation .. " (status is for generation " .. status.observedGeneration .. ")"
  return hs
end

local ready = nil
local broken, underway, unknown, waiting = {}, {}, {}, {}
for _, c in ipairs(status.conditions or {}) do
  if c.type == "Ready" then
    ready = c
  elseif c.status == "False" then
    if inProgress[c.type] ~= nil and inProgress[c.type][c.reason] then
      table.insert(underway, describe(c))
    else
      table.insert(broken, describe(c))
    end
  elseif c.status == "Unknown" then
    if notYetKnown[c.reason] then
      table.insert(waiting, describe(c))
    else
      table.insert(unknown, describe(c))
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for authpolicy-operator to set the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = "Ready: " .. (ready.message or "")
  return hs
end
if #broken > 0 then
  hs.status = "Degraded"
  hs.message = table.concat(broken, "; ")
  return hs
end
if #unknown > 0 then
  hs.status = "Degraded"
  hs.message = table.concat(unknown, "; ")
  return hs
end
if ready.status == "False" and #underway == 0 then
  -- Not an area: e.g. Conflict (another AuthPolicy is the active one).
  hs.status = "Degraded"
  hs.message = describe(ready)
  return hs
end
for _, m in ipairs(waiting) do
  table.insert(underway, m)
end
if #underway == 0 then
  table.insert(underway, describe(ready))
end
hs.status = "Progressing"
hs.message = table.concat(underway, "; ")
return hs
