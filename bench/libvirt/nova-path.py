"""define+start+destroy+undefine cycles through python3-libvirt, the path OpenStack Nova's libvirt
driver uses. Run with Debian's /usr/bin/python3. Prints one JSON object: milliseconds per op per cycle."""
import json
import sys
import time

import libvirt

uri, xml_path, name, cycles = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
xml = open(xml_path).read()
conn = libvirt.open(uri)
ops = {"define": [], "start": [], "destroy": [], "undefine": [], "cycle": []}
for _ in range(cycles):
    t0 = time.perf_counter()
    dom = conn.defineXMLFlags(xml, libvirt.VIR_DOMAIN_DEFINE_VALIDATE)
    t1 = time.perf_counter()
    dom.create()
    t2 = time.perf_counter()
    dom.destroy()
    t3 = time.perf_counter()
    dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                      | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA)
    t4 = time.perf_counter()
    for k, a, b in (("define", t0, t1), ("start", t1, t2), ("destroy", t2, t3), ("undefine", t3, t4), ("cycle", t0, t4)):
        ops[k].append((b - a) * 1000)
conn.close()
print(json.dumps(ops))
