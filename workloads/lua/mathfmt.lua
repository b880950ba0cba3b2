-- mathfmt.lua: the math library, integer/float semantics, and number
-- formatting (string.format, tostring) and string->number coercions.
-- NaN is never printed directly (its sign differs between CPUs); only
-- "x ~= x" is. The last line is "mathfmt: OK" when every check passed.

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    print("FAILED: " .. what)
  end
end

local function strip(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end

-- integer vs float
print("types", math.type(1), math.type(1.0), math.type("1"), math.type(2^53), math.type(7 // 2), math.type(7 // 2.0))
print("division", 7 / 2, 7 // 2, -7 // 2, 7 // -2, 7.0 // 2, -7.5 // 2, 1 / 2, 4 / 2)
print("modulo", 7 % 3, -7 % 3, 7 % -3, -7 % -3, 5.5 % 2, -5.5 % 2, 5 % 2.5, 3 % math.huge, -3 % math.huge)
print("fmod", math.fmod(7, 3), math.fmod(-7, 3), math.fmod(7, -3), math.fmod(-7.5, 2), math.fmod(1, 0.3))
local okz, errz = pcall(function() return 1 // 0 end)
print("int div by zero", okz, strip(errz))
local okm, errm = pcall(function() return 1 % 0 end)
print("int mod by zero", okm, strip(errm))
print("float div by zero", 1 / 0, -1 / 0, 1.0 // 0, -1 // 0.0, (0 / 0) ~= (0 / 0))
print("integer overflow wraps", math.maxinteger + 1 == math.mininteger, math.mininteger - 1 == math.maxinteger,
  math.maxinteger * 2, math.mininteger // -1, math.mininteger % -1)
print("limits", math.maxinteger, math.mininteger, math.huge, -math.huge, math.pi)
print("exponent", 2 ^ 10, 2 ^ 0.5, (-8) ^ (1 / 3) ~= (-8) ^ (1 / 3), 10 ^ -2, 2 ^ 63, 2 ^ 64)
print("bitwise", 0xF0 & 0x3C, 0xF0 | 0x0F, 0xF0 ~ 0xFF, ~0, 1 << 62, 1 << 63, 1 << 64, -1 >> 1, 3.0 & 1)
local okb, errb = pcall(function() return 1.5 | 1 end)
print("bitwise on non-integer float", okb, strip(errb))

-- math library
print("floor/ceil", math.floor(3.7), math.floor(-3.7), math.ceil(3.2), math.ceil(-3.2), math.floor(5), math.type(math.floor(2.0^70)))
print("modf", math.modf(3.75), math.modf(-3.75), math.modf(5), math.modf(math.huge), math.modf(-math.huge))
print("abs", math.abs(-5), math.abs(-5.5), math.abs(math.mininteger), math.abs(-0.0))
print("max/min", math.max(3, 7.5, -1), math.min(3, 7.5, -1), math.max(1, 2), math.min(2.0, 1), math.max(-0.0, 0.0))
print("sqrt", math.sqrt(16), math.sqrt(2), math.sqrt(0), math.sqrt(-1) ~= math.sqrt(-1), math.sqrt(math.huge))
print("tointeger", math.tointeger(3.0), math.tointeger(3.5), math.tointeger("8"), math.tointeger(2^63), math.tointeger(-2^63))
print("ult", math.ult(1, 2), math.ult(-1, 2), math.ult(2, -1))
print(string.format("exp/log %.14g %.14g %.14g %.14g %.14g %.14g", math.exp(1), math.exp(-1), math.log(10), math.log(8, 2),
  math.log(1000, 10), math.log(2.5, 7)))
print(string.format("trig %.14g %.14g %.14g %.14g %.14g %.14g", math.sin(1), math.cos(1), math.tan(1), math.asin(0.5),
  math.acos(0.5), math.atan(1, 2)))
print("exact specials", math.sin(0), math.cos(0), math.exp(0), math.log(1), math.log(0), math.atan(0, -1) == math.pi)

-- deterministic pseudo-random numbers
math.randomseed(42, 7)
local r = {}
for i = 1, 5 do r[i] = math.random(1, 1000) end
print("random ints", table.concat(r, " "))
local fsum = 0
for _ = 1, 1000 do fsum = fsum + math.random() end
print(string.format("random floats sum %.10f", fsum))
print("random range", math.random(5, 5), math.random(0) ~= nil)

-- tostring of numbers
local vals = {1e100, 0.1, -0.0, 1 / 0, -1 / 0, 1e15, 1e16, 123456789012345, 2^53, 2^63, -2^63, 1e-5, 1e-300, 5e-324,
  100.0, -100.0, 3.14159265358979, 1 / 3, 2 / 3, 255 / 256, math.maxinteger + 0.0, 12345.678, 0.5, 1e308 * 10}
local strs = {}
for i, v in ipairs(vals) do strs[i] = tostring(v) end
print("tostring", table.concat(strs, " "))
print("integers tostring", 0, -0, 42, -42, math.maxinteger, math.mininteger, 0x7fffffffffffffff, 0xffffffffffffffff)

-- string.format with many values
local fmts = {"%.14g", "%5.2f", "%e", "%.3e", "%g", "%.1f", "%10.4f", "%-12g|", "%+.6g", "%.0f", "%#.0f", "%.20g"}
local fvals = {0, 1, -1, 0.5, 1.5, 2.5, 1 / 3, math.pi, -math.pi, 1e-7, 123456.789, 1e20, 2^53 + 1, 0.1, 99.995, 1e300}
local h = 0
for _, fmt in ipairs(fmts) do
  local line = {}
  for _, v in ipairs(fvals) do
    local s = string.format(fmt, v)
    line[#line + 1] = s
    for i = 1, #s do h = (h * 31 + s:byte(i)) % 1000000007 end
  end
  print(fmt, table.concat(line, " "))
end
print("format hash", h)
print("format a", string.format("%a %a %a %a %A", 1.0, 0.5, -3.75, 1 / 3, 255.5))
print("format d/x", string.format("%d %5d %-5d| %x %X %#x %o %08x", 42, -42, 7, 255, 3054, 255, 8, 0xdead))
print("format big ints", string.format("%d %d %x", math.maxinteger, math.mininteger, -1))
print("format float as %d", string.format("%d", 3.0), pcall(string.format, "%d", 3.5))
print("format inf", string.format("%f %e %g %.3f", 1 / 0, -1 / 0, 1 / 0, -1 / 0))
print("format %s number", string.format("%s %s %s", 1, 1.0, -0.0))

-- string -> number coercions
print("tonumber", tonumber("10"), tonumber("10.0"), tonumber("0x1p4"), tonumber("1e1"), tonumber(" 0x10 "), tonumber("1e"),
  tonumber("0x"), tonumber("inf"), tonumber("nan"), tonumber(".5"), tonumber("5."), tonumber("- 1"), tonumber("-0x10"))
print("tonumber bases", tonumber("777", 8), tonumber("zz", 36), tonumber("-ff", 16), tonumber("102", 2), tonumber("7fffffffffffffff", 16))
print("integer strings", math.type(tonumber("9223372036854775807")), math.type(tonumber("9223372036854775808")),
  tonumber("9223372036854775808"), math.type(tonumber("0x7fffffffffffffffff")))
print("arith coercion", "10" + 5, "3" * "4", "2" ^ 2, "10" // "3", "7.5" % 2, -"2", "0x10" + 0, 10 .. "")
local okc, errc = pcall(function() return "abc" + 1 end)
print("bad coercion", okc, strip(errc))
print("comparison", 1 == 1.0, "1" == 1, 0.1 + 0.2 == 0.3, math.abs(0.1 + 0.2 - 0.3) < 1e-15, -0.0 == 0.0,
  math.maxinteger < math.huge, math.maxinteger + 0.0 == 2^63, math.maxinteger == 2^63)
print("float keys", ({[1] = "int"})[1.0], ({[2^53] = "x"})[2^53 | 0])
print("for loops", (function() local n = 0 for i = 1, 3, 0.5 do n = n + 1 end return n end)(),
  (function() local n = 0 for i = math.maxinteger - 2, math.maxinteger do n = n + 1 end return n end)(),
  (function() local n = 0 for i = 1.0, 0, -0.25 do n = n + 1 end return n end)())

-- accumulated floating point (exercises fmadd-able code and rounding)
local acc, acc2 = 0.0, 0.0
for i = 1, 100000 do
  acc = acc + 1 / i
  acc2 = acc2 + math.sin(i) * math.cos(i)
end
print(string.format("harmonic %.15g  sum sin*cos %.10f", acc, acc2))
local kahan, c = 0.0, 0.0
for i = 1, 100000 do
  local y = 0.1 - c
  local t = kahan + y
  c = (t - kahan) - y
  kahan = t
end
print(string.format("kahan %.17g naive %.17g", kahan, (function() local s = 0.0 for _ = 1, 100000 do s = s + 0.1 end return s end)()))

check(7 // 2 == 3 and -7 // 2 == -4, "floor division")
check(math.type(3 // 1) == "integer", "integer floor division")
check(tostring(-0.0) == "-0.0", "negative zero")
check(tostring(1e100) == "1e+100", "1e100")
print(failures == 0 and "mathfmt: OK" or ("mathfmt: " .. failures .. " FAILURES"))
