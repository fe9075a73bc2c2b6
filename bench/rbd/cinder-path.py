"""Full RBD disk cycles through python3-rbd/python3-rados, sequenced the way OpenStack Cinder's RBD
driver does it (an image opened per operation, layering feature, clone from a protected snapshot).
Run with Debian's /usr/bin/python3. Prints one JSON object: milliseconds per op per cycle.

  /usr/bin/python3 cinder-path.py CONF POOL CLONE_POOL PREFIX CYCLES SIZE_BYTES"""
import json
import sys
import time

import rados
import rbd

conf, pool, clone_pool, prefix, cycles, size = sys.argv[1:7]
cycles, size = int(cycles), int(size)
cluster = rados.Rados(conffile=conf)
cluster.connect(timeout=10)
io = cluster.open_ioctx(pool)
cio = cluster.open_ioctx(clone_pool)
r = rbd.RBD()
OPS = ["create", "resize", "snap_create", "snap_protect", "clone", "remove_clone", "snap_unprotect",
       "snap_remove", "remove", "cycle"]
ops = {k: [] for k in OPS}


def image_op(ioctx, name, fn):
    with rbd.Image(ioctx, name) as img:
        fn(img)


for i in range(cycles):
    name, child, snap = f"{prefix}-{i}", f"{prefix}-{i}-c", "s"
    steps = [
        ("create", lambda: r.create(io, name, size, old_format=False, features=rbd.RBD_FEATURE_LAYERING)),
        ("resize", lambda: image_op(io, name, lambda img: img.resize(size * 2))),
        ("snap_create", lambda: image_op(io, name, lambda img: img.create_snap(snap))),
        ("snap_protect", lambda: image_op(io, name, lambda img: img.protect_snap(snap))),
        ("clone", lambda: r.clone(io, name, snap, cio, child, features=rbd.RBD_FEATURE_LAYERING)),
        ("remove_clone", lambda: r.remove(cio, child)),
        ("snap_unprotect", lambda: image_op(io, name, lambda img: img.unprotect_snap(snap))),
        ("snap_remove", lambda: image_op(io, name, lambda img: img.remove_snap(snap))),
        ("remove", lambda: r.remove(io, name)),
    ]
    t0 = time.perf_counter()
    for op, step in steps:
        t = time.perf_counter()
        step()
        ops[op].append((time.perf_counter() - t) * 1000)
    ops["cycle"].append((time.perf_counter() - t0) * 1000)

cio.close()
io.close()
cluster.shutdown()
print(json.dumps(ops))
