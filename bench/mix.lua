-- The capacity test's mix (bench/run.py, `make bench`): 60 % a train's dashboard, 25 % the
-- trains list, 10 % the approval inbox, 5 % state changes through the pages (ticking or
-- unticking an exit criterion with htmx, as its button does; the service writes the
-- criterion and a history row, and the page answers with the panel drawn again).
--
-- wrk -s bench/mix.lua URL -- DASHBOARD LIST INBOX TICK_PREFIX CRITERIA STATE
--     MANAGER_COOKIE EXECUTIVE_COOKIE CSRF_TOKEN
-- CRITERIA: criterion ids joined by commas; TICK_PREFIX/<id>/check/ is posted.

local dashboard, list, inbox, tick, criteria, state
local manager, executive, csrf

function init(args)
  dashboard, list, inbox, tick = args[1], args[2], args[3], args[4]
  criteria = {}
  for id in string.gmatch(args[5], "%d+") do
    criteria[#criteria + 1] = id
  end
  state, manager, executive, csrf = args[6], args[7], args[8], args[9]
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
end

function request()
  local r = math.random(100)
  if r <= 60 then
    return wrk.format("GET", dashboard, { Cookie = manager })
  elseif r <= 85 then
    return wrk.format("GET", list, { Cookie = manager })
  elseif r <= 95 then
    return wrk.format("GET", inbox, { Cookie = executive })
  end
  local id = criteria[math.random(#criteria)]
  local body = "met=" .. math.random(0, 1) .. "&state=" .. state
  return wrk.format("POST", tick .. "/" .. id .. "/check/", {
    Cookie = manager .. "; csrftoken=" .. csrf,
    ["X-CSRFToken"] = csrf,
    ["HX-Request"] = "true",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
