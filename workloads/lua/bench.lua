-- bench.lua: a CPU-bound benchmark mixing floating-point arithmetic,
-- table operations, string building/hashing and sorting.
--
-- usage: lua54 bench.lua [SIZE]
--   SIZE scales every phase about linearly (default 600, about 1.5 s for a
--   native x86-64 build). The output is deterministic for a given SIZE.

local size = tonumber(arg and arg[1]) or 600
assert(size >= 1, "size must be >= 1")
size = math.floor(size)

-- phase 1: spectral norm (floating point, tight loops)
local function A(i, j)
  local ij = i + j - 1
  return 1.0 / (ij * (ij - 1) * 0.5 + i)
end

local function Av(x, y, N)
  for i = 1, N do
    local a = 0
    for j = 1, N do a = a + x[j] * A(i, j) end
    y[i] = a
  end
end

local function Atv(x, y, N)
  for i = 1, N do
    local a = 0
    for j = 1, N do a = a + x[j] * A(j, i) end
    y[i] = a
  end
end

local function AtAv(x, y, t, N)
  Av(x, t, N)
  Atv(t, y, N)
end

local function spectral_norm(N)
  local u, v, t = {}, {}, {}
  for i = 1, N do u[i] = 1 end
  for _ = 1, 10 do
    AtAv(u, v, t, N)
    AtAv(v, u, t, N)
  end
  local vBv, vv = 0, 0
  for i = 1, N do
    local ui, vi = u[i], v[i]
    vBv = vBv + ui * vi
    vv = vv + vi * vi
  end
  return math.sqrt(vBv / vv)
end

-- phase 2: string building and hashing
local function fnv1a32(s)
  local h = 2166136261
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff
  end
  return h
end

local function strings_phase(n)
  local words = {}
  local syll = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu"}
  local seed = 1
  for i = 1, n do
    local parts = {}
    local len = 2 + i % 4
    for k = 1, len do
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      parts[k] = syll[seed % #syll + 1]
    end
    words[i] = table.concat(parts)
  end
  local counts = {}
  for i = 1, n do
    local w = words[i]
    counts[w] = (counts[w] or 0) + 1
  end
  local acc = 0
  local buf = {}
  for i = 1, n do
    local line = string.format("%05d:%s:%d", i, words[i]:upper(), counts[words[i]])
    buf[#buf + 1] = line
    acc = (acc + fnv1a32(line)) & 0xffffffff
  end
  local text = table.concat(buf, "\n")
  local vowels = select(2, text:gsub("[AEIOU]", ""))
  local distinct = 0
  for _ in pairs(counts) do distinct = distinct + 1 end
  return acc, #text, vowels, distinct
end

-- phase 3: tables of records, sorting with a comparator, grouping
local function tables_phase(n)
  local recs = {}
  local seed = 42
  for i = 1, n do
    seed = (seed * 6364136223846793005 + 1442695040888963407)
    local key = (seed >> 33) % 1000
    recs[i] = {id = i, key = key, value = ((seed >> 17) & 0xffff) / 65536.0}
  end
  table.sort(recs, function(a, b)
    if a.key ~= b.key then return a.key < b.key end
    return a.id < b.id
  end)
  local groups = {}
  for _, r in ipairs(recs) do
    local g = groups[r.key]
    if not g then
      g = {sum = 0.0, n = 0}
      groups[r.key] = g
    end
    g.sum = g.sum + r.value
    g.n = g.n + 1
  end
  local best, bestkey = -1, -1
  for k = 0, 999 do
    local g = groups[k]
    if g and g.sum / g.n > best then best, bestkey = g.sum / g.n, k end
  end
  local chk = 0
  for i = 1, #recs, 7 do chk = (chk * 31 + recs[i].id) % 1000000007 end
  return chk, bestkey, best
end

-- phase 4: integer arithmetic (sieve + collatz)
local function ints_phase(n)
  local limit = n * 20
  local sieve = {}
  for i = 2, limit do sieve[i] = true end
  for i = 2, math.floor(math.sqrt(limit)) do
    if sieve[i] then
      for j = i * i, limit, i do sieve[j] = false end
    end
  end
  local primes = 0
  for i = 2, limit do if sieve[i] then primes = primes + 1 end end
  local longest, arg_longest = 0, 0
  for s = 1, n * 2 do
    local x, steps = s, 0
    while x ~= 1 do
      if x % 2 == 0 then x = x // 2 else x = 3 * x + 1 end
      steps = steps + 1
    end
    if steps > longest then longest, arg_longest = steps, s end
  end
  return primes, longest, arg_longest
end

-- every phase costs about linearly in SIZE (spectral norm is quadratic in N)
local N = math.floor(20 * math.sqrt(size))
local sn = spectral_norm(N)
print(string.format("spectral norm (N=%d): %.9f", N, sn))
local h, len, vowels, distinct = strings_phase(size * 400)
print(string.format("strings (n=%d): hash=%08x len=%d vowels=%d distinct=%d", size * 400, h, len, vowels, distinct))
local chk, bestkey, best = tables_phase(size * 300)
print(string.format("tables (n=%d): check=%d best key=%d avg=%.6f", size * 300, chk, bestkey, best))
local primes, longest, arg_longest = ints_phase(size * 200)
print(string.format("ints (n=%d): primes=%d collatz longest=%d at %d", size * 200, primes, longest, arg_longest))
print("bench: done")
