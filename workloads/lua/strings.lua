-- strings.lua: the Lua string library (format, rep, sub, gsub, find and
-- patterns, byte/char, upper/lower, ...). Deterministic output; the last
-- line is "strings: OK" when every check passed.

local failures = 0
local function check(cond, what)
  if not cond then
    failures = failures + 1
    print("FAILED: " .. what)
  end
end

local function show(label, ...)
  local parts = {}
  for i = 1, select("#", ...) do
    parts[#parts + 1] = tostring((select(i, ...)))
  end
  print(label .. ": " .. table.concat(parts, " | "))
end

-- basics
local s = "Hello, Lua World"
show("len", #s, s:len(), string.len(""))
show("upper/lower", s:upper(), s:lower())
show("sub", s:sub(1, 5), s:sub(-5), s:sub(8, -7), s:sub(0), s:sub(100), s:sub(-100, 2), s:sub(5, 4))
show("rep", ("ab"):rep(3), ("x"):rep(0), ("ab"):rep(3, ","), ("-"):rep(1, "sep"))
show("reverse", s:reverse(), (""):reverse())
show("byte", s:byte(1), s:byte(-1), s:byte(1, 3))
show("char", string.char(72, 105, 33), string.char())
check(string.char(s:byte(1, -1)) == s, "byte/char round trip")

-- all bytes survive
local all = {}
for i = 0, 255 do all[#all + 1] = string.char(i) end
local bin = table.concat(all)
check(#bin == 256 and bin:byte(1) == 0 and bin:byte(256) == 255, "binary string")
show("binary upper count", select(2, bin:upper():gsub("%u", "")))

-- find: plain and patterns
show("find plain", s:find("Lua"), s:find("lua"), s:find("o", 6), s:find("l", -3), s:find(".", 1, true))
show("find pattern", s:find("%u%l+"), s:find("(%a+), (%a+)"), s:find("W%a*$"))
show("find anchors", ("aaa"):find("^a"), ("baa"):find("^a"), ("abc"):find("c$"), (""):find(""))
show("match", s:match("%a+"), s:match("(%a+) (%a+)$"), s:match("()Lua()"), ("key = value"):match("^(%w+)%s*=%s*(%w+)$"))
show("match classes", ("x1_y2"):match("%w+"), ("  \t trimmed \n"):match("^%s*(.-)%s*$"), ("3.25e-3"):match("^[%d%.eE%-]+$"))
show("match frontier", ("THE (quick) fox"):find("%f[%a]%a+%f[%A]"), ("hello world"):gsub("%f[%w]%w+", "<%0>"))
show("match balanced", ("f(a(b)c) x(y)"):match("%b()"), ("[[x]] y"):match("%b[]"))
show("match quantifiers", ("aaab"):match("a-b"), ("aaab"):match("a*"), ("aaab"):match("a+?") or "nil", ("<<a>>"):match("<(.-)>"))
show("match backref", ("say 'hi' or \"yo\""):match("([\"'])(.-)%1"))
show("match ranges", ("Grey42"):match("[A-Z][a-z]+"), ("0xFF"):match("0[xX](%x+)"), ("a-b"):match("[%-]"))

-- gmatch
local words = {}
for w in ("the quick brown fox jumps over the lazy dog"):gmatch("%a+") do words[#words + 1] = w end
show("gmatch words", #words, table.concat(words, ","))
local kv = {}
for k, v in ("a=1, b=22, ccc=333"):gmatch("(%w+)=(%w+)") do kv[#kv + 1] = k .. ":" .. v end
show("gmatch pairs", table.concat(kv, " "))
local positions = {}
for p in ("abcabc"):gmatch("()b") do positions[#positions + 1] = p end
show("gmatch positions", table.concat(positions, ","))

-- gsub: strings, functions, tables, counts
show("gsub string", ("hello world"):gsub("o", "0"))
show("gsub limit", ("hello world"):gsub("l", "L", 2))
show("gsub captures", ("John Smith"):gsub("(%w+) (%w+)", "%2, %1"))
show("gsub %0", ("abc"):gsub("%w", "%0%0"))
show("gsub function", ("1 2 3 4"):gsub("%d", function(d) return tostring(d * d) end))
show("gsub function nil", ("a b c"):gsub("%a", function(c) if c == "b" then return "B" end end))
show("gsub table", ("$name is $age"):gsub("%$(%w+)", {name = "Lua", age = 31}))
show("gsub empty pattern", ("abc"):gsub("", "-"))
show("gsub anchored", ("aaa"):gsub("^a", "b"))
show("gsub escape", ("50% off"):gsub("%%", " percent"))
local ok, err = pcall(string.find, "x", "[a")
show("find bad pattern", ok, (tostring(err):gsub("^.-:%d+: ", "")))

-- format
show("format d", string.format("%d %5d %-5d| %05d %+d %x %X %o %c", 42, 42, 42, 42, 42, 255, 255, 8, 65))
show("format s", string.format("[%s] [%10s] [%-10s] [%.3s] [%q]", "str", "str", "str", "string", "a\nb\"c\0d"))
show("format f", string.format("%.3f %10.2f %-10.1f| %e %.2E %g %g %g", math.pi, -math.pi, 2.5, 12345.678, 0.000123, 1e20, 1e-5, 100))
show("format q numbers", string.format("%q %q %q", 1 / 3, 42, math.mininteger))
show("format i", string.format("%i %u", -7, 7))
show("format %%", string.format("100%% of %s", "it"))
show("format tostring", string.format("%s %s %s %s", nil, true, 12, 1.5))
local ok2, err2 = pcall(string.format, "%d", 1.5)
show("format bad int", ok2, (err2:gsub("^.-:%d+: ", "")))

-- misc functions
show("tostring/tonumber", tostring(12), tonumber("0x10"), tonumber("  12  "), tonumber("1e2"), tonumber("z", 36),
  tonumber("ff", 16), tonumber("8", 8), tonumber("nope"), tonumber(""))
show("string compare", "a" < "b", "abc" < "abd", "Z" < "a", "" < "a", "a" == "a")
show("concat numbers", 1 .. 2, 1.5 .. "", -0.0 .. "")
show("pack/unpack", string.unpack("<i4", string.pack("<i4", -2)), #string.pack("<i8d", 1, 2.0), string.pack(">I2", 258):byte(1, 2))
show("packsize", string.packsize("i4i8"), string.packsize("!8i1i8"))
local packed = string.pack("z s1 B", "zero", "len", 200)
show("pack strings", string.unpack("z s1 B", packed))
show("utf8", utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), #utf8.char(8364))
local cps = {}
for _, c in utf8.codes("aä€") do cps[#cps + 1] = c end
show("utf8 codes", table.concat(cps, ","), utf8.codepoint("€"), utf8.offset("aä€", 3))

-- string building and hashing
local parts = {}
for i = 1, 2000 do parts[i] = string.format("%04d:%s", i, string.rep(string.char(97 + i % 26), i % 7)) end
local big = table.concat(parts, ";")
local h = 5381
for i = 1, #big do h = (h * 33 + big:byte(i)) % 4294967296 end
show("built string", #big, h, big:sub(1, 30))
local cnt = select(2, big:gsub("aaa", ""))
show("count aaa", cnt)
local upper_count = 0
for _ in big:upper():gmatch("%u") do upper_count = upper_count + 1 end
show("upper letters", upper_count)

-- string methods through the metatable
check(getmetatable("").__index == string, "string metatable")
check(("x"):rep(3) == "xxx", "method call on literal")
check(#string.format("%099d", 7) == 99, "long format width")

print(failures == 0 and "strings: OK" or ("strings: " .. failures .. " FAILURES"))
