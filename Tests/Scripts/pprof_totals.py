#!/usr/bin/env python3
"""Decodes a gzipped pprof profile with Python's protobuf and the official profile.proto
(compiled here with protoc --python_out) and prints what the tests compare, as JSON:
sample types, pages and bytes per stack (function names, leaf first, joined by ';') and
pages per label value. Usage: pprof_totals.py PROFILE.pb.gz PROFILE.proto"""
import gzip, json, os, subprocess, sys, tempfile

profile_path, proto_path = sys.argv[1], sys.argv[2]
out_dir = tempfile.mkdtemp()
proto_dir, proto_name = os.path.split(os.path.abspath(proto_path))
subprocess.run(["protoc", "-I", proto_dir, "--python_out", out_dir, proto_name], check=True)
sys.path.insert(0, out_dir)
import profile_pb2  # noqa: E402

with open(profile_path, "rb") as f:
    raw = f.read()
assert raw[:2] == b"\x1f\x8b", "not gzip"
p = profile_pb2.Profile()
p.ParseFromString(gzip.decompress(raw))
s = p.string_table
assert s[0] == ""
functions = {f.id: s[f.name] for f in p.function}
locations = {l.id: [functions[line.function_id] for line in l.line] for l in p.location}
stacks, labels = {}, {}
for sample in p.sample:
    names = [name for lid in sample.location_id for name in locations[lid]]
    key = ";".join(names)
    pages, space = sample.value[0], sample.value[1]
    total = stacks.setdefault(key, [0, 0])
    total[0] += pages
    total[1] += space
    for label in sample.label:
        value = s[label.str] if label.str else str(label.num)
        per = labels.setdefault(s[label.key], {})
        per[value] = per.get(value, 0) + pages
print(json.dumps({
    "sample_types": [[s[t.type], s[t.unit]] for t in p.sample_type],
    "samples": len(p.sample),
    "locations": len(p.location),
    "functions": len(p.function),
    "stacks": stacks,
    "labels": labels,
}))
