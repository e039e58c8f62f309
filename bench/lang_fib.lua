-- bench/lang_fib.lua — recursive fib(30), the Lua 5.4 peer of lang_fib.anx.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end
print(fib(30))
