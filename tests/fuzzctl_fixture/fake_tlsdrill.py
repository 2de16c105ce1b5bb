#!/usr/bin/python3
"""tests/fuzzctl_fixture/fake_tlsdrill.py -- test double for the CLI's
`tlsdrill replay <target> FILES|DIRS [--json F] [--quiet]` (fuzz contract),
used by tests/test_fuzzctl.py to check how fuzzctl consumes it. Per input it
"decodes" the first byte and reports a rule: "OR..." -> FX-RULE-1 (oracle
failure), "A..." -> FX-RULE-A, anything else no rule. Exit 1 on a finding."""
import json
import os
import sys


def main(argv):
    if len(argv) >= 2 and argv[0] == "replay" and argv[1] in ("--help", "-h"):
        print("usage: tlsdrill replay <target> FILES|DIRS [--json F] [--quiet]")
        return 0
    if len(argv) < 3 or argv[0] != "replay":
        print("usage: tlsdrill replay <target> FILES|DIRS [--json F] [--quiet]", file=sys.stderr)
        return 2
    target, rest = argv[1], argv[2:]
    json_path, paths = None, []
    i = 0
    while i < len(rest):
        if rest[i] == "--json":
            json_path = rest[i + 1]
            i += 2
            continue
        if rest[i] != "--quiet":
            paths.append(rest[i])
        i += 1
    files = []
    for p in paths:
        files += [os.path.join(p, n) for n in sorted(os.listdir(p))] if os.path.isdir(p) else [p]
    results, finding = [], False
    for f in files:
        data = open(f, "rb").read()
        rule, verdict = None, "ok"
        if data.startswith(b"OR"):
            rule = "FX-RULE-1"
            verdict = "==tlsdrill-oracle== %s: wrong-alert: rule FX-RULE-1 alert decode_error: fake" % target
            finding = True
        elif data.startswith(b"A"):
            rule = "FX-RULE-A"
        print("%s: client->server record 22 len %d; rule %s; %s" % (f, len(data), rule or "none", verdict))
        results.append({"file": f, "rule": rule, "verdict": verdict})
    if json_path:
        with open(json_path, "w") as out:
            json.dump({"target": target, "inputs": results}, out)
    return 1 if finding else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
