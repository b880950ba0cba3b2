-- tables.lua: table constructors, table library, length operator,
-- iteration order over array parts, and metatables. Output never depends
-- on hash-part iteration order (keys are sorted before printing).
-- The last line is "tables: OK" when every check passed.

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    print("FAILED: " .. what)
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  return keys
end

local function dump(t)
  local out = {}
  for _, k in ipairs(sorted_keys(t)) do
    local v = t[k]
    out[#out + 1] = tostring(k) .. "=" .. (type(v) == "table" and "{...}" or tostring(v))
  end
  return "{" .. table.concat(out, ", ") .. "}"
end

-- constructors
local t1 = {10, 20, 30, x = 1, ["y z"] = 2, [100] = "hundred", [1.5] = "float key", [2^53] = "big"}
print("constructor", #t1, dump(t1))
local t2 = {[1] = "a", [2] = "b", "c"} -- positional wins for [1]
print("positional vs explicit", t2[1], t2[2], #t2)
local function three() return 1, 2, 3 end
print("multret in constructor", #{three()}, #{three(), three()}, #{(three())}, #{three(), nil})
local nested = {a = {b = {c = {d = "deep"}}}}
print("nested", nested.a.b.c.d)
print("float keys normalised", ({[1.0] = "one"})[1], ({[2] = "two"})[2.0], math.type(next({[3.0] = true})))

-- length operator and border cases
local seq = {}
for i = 1, 100 do seq[i] = i * i end
print("length", #seq, #"", #{}, #{nil}, #{1, 2, 3, nil}, #{n = 1})
seq[#seq + 1] = "append"
print("after append", #seq, seq[#seq])
seq[#seq] = nil
print("after remove", #seq)

-- table.insert / table.remove
local list = {"a", "b", "c"}
table.insert(list, "d")
table.insert(list, 1, "first")
table.insert(list, 3, "middle")
print("insert", table.concat(list, ","), #list)
print("remove last", table.remove(list), table.concat(list, ","))
print("remove first", table.remove(list, 1), table.concat(list, ","))
print("remove middle", table.remove(list, 2), table.concat(list, ","))
print("remove empty", table.remove({}), #list)
local ok, err = pcall(table.insert, list, 10, "x")
print("insert out of range", ok, (tostring(err):gsub("^.-:%d+: ", "")))

-- table.concat
print("concat", table.concat({1, 2, 3}), table.concat({1, 2.5, "x"}, "-"), table.concat({"a", "b", "c", "d"}, "", 2, 3),
  "[" .. table.concat({}, ",") .. "]")

-- table.unpack / pack / move
print("unpack", table.unpack({1, 2, 3}))
print("unpack range", table.unpack({1, 2, 3, 4, 5}, 2, 4))
local packed = table.pack(1, nil, 3, nil)
print("pack", packed.n, packed[1], packed[2], packed[3])
local moved = table.move({1, 2, 3, 4, 5}, 2, 4, 1)
print("move", table.concat(moved, ","))
local dest = table.move({1, 2, 3}, 1, 3, 3, {"x", "y"})
print("move to other", table.concat(dest, ","))

-- table.sort with and without comparators
local nums = {}
local seed = 12345
local function rand(n)
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed % n
end
for i = 1, 500 do nums[i] = rand(1000) end
table.sort(nums)
local okasc = true
for i = 2, #nums do if nums[i - 1] > nums[i] then okasc = false end end
print("sort ascending", okasc, nums[1], nums[250], nums[500])
table.sort(nums, function(a, b) return a > b end)
print("sort descending", nums[1], nums[500])
local people = {
  {name = "ann", age = 31}, {name = "bob", age = 25}, {name = "cid", age = 31},
  {name = "dee", age = 19}, {name = "eve", age = 25}, {name = "fay", age = 40},
}
table.sort(people, function(a, b)
  if a.age ~= b.age then return a.age < b.age end
  return a.name < b.name
end)
local order = {}
for i, p in ipairs(people) do order[i] = p.name .. "(" .. p.age .. ")" end
print("sort records", table.concat(order, " "))
local strs = {"banana", "Apple", "cherry", "apple", "Banana", "date", ""}
table.sort(strs)
print("sort strings", table.concat(strs, ","))
table.sort(strs, function(a, b) return a:lower() < b:lower() or (a:lower() == b:lower() and a < b) end)
print("sort case-insensitive", table.concat(strs, ","))
local ok2, err2 = pcall(table.sort, {3, 1, "x"})
print("sort mixed types", ok2, (tostring(err2):gsub("^.-:%d+: ", "")))

-- ipairs / pairs over the array part (ordered), next
local arr = {"x", "y", "z"}
local seen = {}
for i, v in ipairs(arr) do seen[#seen + 1] = i .. v end
print("ipairs", table.concat(seen, " "))
seen = {}
for k, v in pairs(arr) do seen[#seen + 1] = k .. v end
print("pairs over array part", table.concat(seen, " "))
local k1, v1 = next(arr)
print("next", k1, v1, next({}), next(arr, 3))
local holes = {1, 2, nil, 4}
local cnt = 0
for _ in ipairs(holes) do cnt = cnt + 1 end
print("ipairs stops at hole", cnt)

-- deletion during traversal (allowed for existing fields)
local big = {}
for i = 1, 200 do big["k" .. i] = i end
local total = 0
for k, v in pairs(big) do
  total = total + v
  if v % 2 == 0 then big[k] = nil end
end
local remaining = 0
for _ in pairs(big) do remaining = remaining + 1 end
print("clear during pairs", total, remaining)

-- metatables
local Vec = {}
Vec.__index = Vec
local function vec(x, y) return setmetatable({x = x, y = y}, Vec) end
function Vec.__add(a, b) return vec(a.x + b.x, a.y + b.y) end
function Vec.__sub(a, b) return vec(a.x - b.x, a.y - b.y) end
function Vec.__mul(a, b)
  if type(a) == "number" then return vec(a * b.x, a * b.y) end
  if type(b) == "number" then return vec(a.x * b, a.y * b) end
  return a.x * b.x + a.y * b.y
end
function Vec.__unm(a) return vec(-a.x, -a.y) end
function Vec.__eq(a, b) return a.x == b.x and a.y == b.y end
function Vec.__lt(a, b) return a:len2() < b:len2() end
function Vec.__le(a, b) return a:len2() <= b:len2() end
function Vec.__len(a) return 2 end
function Vec.__tostring(a) return "(" .. a.x .. "," .. a.y .. ")" end
function Vec.__concat(a, b) return tostring(a) .. tostring(b) end
function Vec.__call(self, k) return self[k] end
function Vec:len2() return self.x * self.x + self.y * self.y end
local a, b = vec(1, 2), vec(3, 4)
print("vec arith", tostring(a + b), tostring(b - a), tostring(2 * a), tostring(a * 3), a * b, tostring(-a))
print("vec compare", a == vec(1, 2), a ~= b, a < b, b <= a, #a)
print("vec concat", a .. b, a .. "!", "?" .. b)
print("vec call", a("x"), b("y"))

-- __index / __newindex as functions and tables, rawget/rawset
local log = {}
local defaults = {color = "red", size = 10}
local proxy = setmetatable({}, {
  __index = function(t, k)
    log[#log + 1] = "get " .. tostring(k)
    return defaults[k]
  end,
  __newindex = function(t, k, v)
    log[#log + 1] = "set " .. tostring(k)
    rawset(t, k, v and v * 2)
  end,
})
proxy.size = 21
print("proxy", proxy.color, proxy.size, proxy.missing, rawget(proxy, "color"))
print("proxy log", table.concat(log, "; "))
local chain = setmetatable({}, {__index = setmetatable({mid = "m"}, {__index = {bottom = "b"}})})
print("index chain", chain.mid, chain.bottom, chain.none)
local ro = setmetatable({}, {__newindex = function() error("read-only table", 2) end, __index = {k = 1}})
local ok3, err3 = pcall(function() ro.k = 2 end)
print("read-only", ok3, (tostring(err3):gsub("^.-:%d+: ", "")), ro.k)

-- __len, __close-free __gc not relied on; __pairs is gone in 5.4 but __index on ipairs works
local virtual = setmetatable({}, {__index = function(t, i) if i <= 5 then return i * 10 end end})
local vs = {}
for i, v in ipairs(virtual) do vs[#vs + 1] = v end
print("ipairs respects __index", table.concat(vs, ","))
local counted = setmetatable({}, {__len = function() return 42 end})
print("__len", #counted, rawlen(counted))

-- __eq only for tables; __lt for sorting objects
local objs = {}
for i = 1, 20 do objs[i] = vec(rand(10), rand(10)) end
table.sort(objs, function(p, q)
  if p:len2() ~= q:len2() then return p < q end
  if p.x ~= q.x then return p.x < q.x end
  return p.y < q.y
end)
local out = {}
for i = 1, 5 do out[i] = tostring(objs[i]) end
print("sorted by __lt", table.concat(out, " "))

-- weak tables: only behaviour that does not depend on GC timing
local weak = setmetatable({}, {__mode = "k"})
local key = {}
weak[key] = "v"
print("weak", weak[key], getmetatable(weak).__mode)

-- a larger workload: build, index, aggregate
local inventory = {}
for i = 1, 3000 do
  local cat = "c" .. (i % 17)
  inventory[cat] = inventory[cat] or {count = 0, sum = 0, items = {}}
  local e = inventory[cat]
  e.count = e.count + 1
  e.sum = e.sum + (i * 7) % 101
  e.items[#e.items + 1] = i
end
local summary = {}
for _, cat in ipairs(sorted_keys(inventory)) do
  local e = inventory[cat]
  summary[#summary + 1] = string.format("%s:%d/%d/%d", cat, e.count, e.sum, e.items[#e.items])
end
print("inventory", table.concat(summary, " "))

check(#seq == 100, "length after remove")
check(select("#", table.unpack({}, 1, 3)) == 3, "unpack with explicit range")
check(rawequal(setmetatable({}, Vec), setmetatable({}, Vec)) == false, "rawequal")
print(failures == 0 and "tables: OK" or ("tables: " .. failures .. " FAILURES"))
