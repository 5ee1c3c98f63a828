"""python -m loa_memory: a self-test of the memory stack (remember two texts, recall one)."""

from . import Memory

m = Memory()
m.remember("the gateway answers health checks")
m.remember("tools install after boot")
best = m.recall("health of the gateway", k=1)
print(best)
assert best and best[0][0] == "the gateway answers health checks", best
