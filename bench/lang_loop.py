# bench/lang_loop.py — 10M-iteration float-accumulating loop (peer of lang_loop.anx).
acc = 0.0
for i in range(10000000):
    acc += 0.5
print(acc)
