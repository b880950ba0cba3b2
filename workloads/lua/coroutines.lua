-- coroutines.lua: generators, coroutine.wrap, status, passing values
-- both ways, yield across pcall, errors inside coroutines, close.
-- The last line is "coroutines: OK" when every check passed.

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    print("FAILED: " .. what)
  end
end

local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end

-- a simple generator
local function range(n, step)
  return coroutine.wrap(function()
    for i = 1, n, step or 1 do coroutine.yield(i) end
  end)
end
local got = {}
for v in range(10, 3) do got[#got + 1] = v end
print("range", table.concat(got, ","))

-- values in and out of resume/yield
local co = coroutine.create(function(a, b)
  print("  started with", a, b)
  local c = coroutine.yield(a + b)
  print("  resumed with", c)
  local d, e = coroutine.yield(c * 2)
  print("  resumed with", d, e)
  return d + e, "done"
end)
print("status new", coroutine.status(co))
print("resume 1", coroutine.resume(co, 1, 2))
print("status suspended", coroutine.status(co))
print("resume 2", coroutine.resume(co, 10))
print("resume 3", coroutine.resume(co, 3, 4))
print("status dead", coroutine.status(co))
print("resume dead", coroutine.resume(co))

-- running / isyieldable
local main, ismain = coroutine.running()
print("running main", type(main), ismain, coroutine.isyieldable())
local inner = coroutine.create(function()
  local me, im = coroutine.running()
  coroutine.yield(coroutine.status(me), im, coroutine.isyieldable())
end)
print("running inner", coroutine.resume(inner))

-- status "normal" for a coroutine that resumed another
local outer
outer = coroutine.create(function()
  local child = coroutine.create(function() return coroutine.status(outer) end)
  return coroutine.resume(child)
end)
print("status normal", coroutine.resume(outer))

-- producer/consumer pipeline with a filter
local function producer()
  return coroutine.create(function()
    for _, w in ipairs({"alpha", "beta", "gamma", "delta", "epsilon"}) do coroutine.yield(w) end
  end)
end
local function filter(src)
  return coroutine.create(function()
    while true do
      local ok, w = coroutine.resume(src)
      if not w then return end
      if #w > 4 then coroutine.yield(w:upper()) end
    end
  end)
end
local out = {}
local f = filter(producer())
while true do
  local ok, w = coroutine.resume(f)
  if not w then break end
  out[#out + 1] = w
end
print("pipeline", table.concat(out, " "))

-- yield across pcall (allowed in 5.4)
local guarded = coroutine.wrap(function()
  local ok, err = pcall(function()
    coroutine.yield("yielded inside pcall")
    error("boom")
  end)
  coroutine.yield("pcall returned " .. tostring(ok) .. ": " .. strip(err))
  local ok2, v = pcall(coroutine.yield, "yield as pcall target")
  return "final " .. tostring(ok2) .. " " .. tostring(v)
end)
print(guarded())
print(guarded())
print(guarded())
print(guarded("sent"))

-- yield across metamethods and table.sort comparator is not allowed? sort is a C function:
local sorter = coroutine.create(function()
  local t = {3, 1, 2}
  table.sort(t, function(a, b) coroutine.yield() return a < b end)
end)
local okS, errS = coroutine.resume(sorter)
print("yield across C boundary", okS, strip(errS))

-- yields inside metamethods (allowed from Lua code)
local mt = {__add = function(a, b) coroutine.yield("in __add") return a.v + b.v end}
local meta = coroutine.wrap(function()
  local x = setmetatable({v = 1}, mt) + setmetatable({v = 2}, mt)
  return "sum " .. x
end)
print(meta(), meta())

-- errors in coroutines
local bad = coroutine.create(function(x)
  coroutine.yield(x)
  error({code = 42})
end)
print("bad 1", coroutine.resume(bad, "first"))
local okB, errB = coroutine.resume(bad)
print("bad 2", okB, type(errB), errB.code, coroutine.status(bad))
local bad2 = coroutine.create(function() local t = nil; return t.field end)
local okC, errC = coroutine.resume(bad2)
print("runtime error", okC, strip(errC))
local wrapped = coroutine.wrap(function() error("wrapped failure") end)
local okW, errW = pcall(wrapped)
print("wrap propagates", okW, strip(errW))
print("resume running", pcall(coroutine.resume, coroutine.running()))

-- coroutine.close
local closable = coroutine.create(function() coroutine.yield(1) end)
coroutine.resume(closable)
print("close suspended", coroutine.close(closable), coroutine.status(closable))
local errored = coroutine.create(function() error("E") end)
coroutine.resume(errored)
local okX, errX = coroutine.close(errored)
print("close errored", okX, strip(errX))
local closed_log = {}
local with_tbc = coroutine.create(function()
  local res <close> = setmetatable({}, {__close = function() closed_log[#closed_log + 1] = "closed" end})
  coroutine.yield("holding")
end)
print("to-be-closed", coroutine.resume(with_tbc))
coroutine.close(with_tbc)
print("to-be-closed after close", table.concat(closed_log, ","))

-- recursion inside coroutines: permutations generator
local function permgen(a, n)
  n = n or #a
  if n <= 1 then
    coroutine.yield(a)
  else
    for i = 1, n do
      a[n], a[i] = a[i], a[n]
      permgen(a, n - 1)
      a[n], a[i] = a[i], a[n]
    end
  end
end
local function permutations(a)
  return coroutine.wrap(function() permgen(a) end)
end
local perms = {}
for p in permutations({"a", "b", "c"}) do perms[#perms + 1] = table.concat(p) end
print("permutations", #perms, table.concat(perms, " "))
local count = 0
local checksum = 0
for p in permutations({1, 2, 3, 4, 5, 6, 7}) do
  count = count + 1
  checksum = (checksum * 31 + p[1] * 7 + p[7]) % 1000003
end
print("7! permutations", count, checksum)

-- many coroutines alive at once
local cos = {}
for i = 1, 200 do
  cos[i] = coroutine.create(function(n)
    local acc = 0
    while true do
      acc = acc + n
      n = coroutine.yield(acc)
    end
  end)
end
local sum = 0
for round = 1, 5 do
  for i = 1, #cos do
    local _, v = coroutine.resume(cos[i], i * round)
    sum = sum + v
  end
end
print("200 coroutines x 5 rounds", sum)

-- deep recursion inside a coroutine
local deep = coroutine.wrap(function()
  local function down(n) if n == 0 then return coroutine.yield("bottom") end return down(n - 1) end
  return down(5000)
end)
print("deep", deep(), deep("back up"))

check(coroutine.status(co) == "dead", "co dead")
check(not coroutine.isyieldable(), "main not yieldable")
print(failures == 0 and "coroutines: OK" or ("coroutines: " .. failures .. " FAILURES"))
