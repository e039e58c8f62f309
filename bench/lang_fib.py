# bench/lang_fib.py — recursive fib(30), the Python peer of lang_fib.anx.
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
print(fib(30))
