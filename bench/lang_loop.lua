-- bench/lang_loop.lua — 10M-iteration float-accumulating loop (peer of lang_loop.anx).
local acc = 0.0
for i = 0, 10000000 - 1 do
  acc = acc + 0.5
end
print(acc)
