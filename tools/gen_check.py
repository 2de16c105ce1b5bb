"""What the RFC 8448 generators (tools/gen_vectors.py, tools/gen_rfc8448_key.py)
share: their command line. The generated text goes to stdout, or with --check
it is compared with the committed file (tests/test_drift.py): exit 1, with a
line naming both, when they differ."""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generator_main(generate, description, source, default, committed, kind):
    """|generate|(source path) -> text; |source|: the positional argument's name
    (default |default|); |committed|: the file it makes, relative to ROOT;
    |kind|: what that file is, for --help."""
    script = os.path.basename(sys.argv[0])
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument(source, nargs="?", default=default)
    ap.add_argument("--check", action="store_true",
                    help="compare with the committed %s instead of printing" % kind)
    a = ap.parse_args()
    src = getattr(a, source)
    text = generate(src)
    if not a.check:
        sys.stdout.write(text)
        return 0
    with open(os.path.join(ROOT, committed), encoding="utf-8") as f:
        if f.read() != text:
            print("%s: %s is not what tools/%s makes from %s: regenerate it"
                  % (script, committed, script, os.path.relpath(src, ROOT)), file=sys.stderr)
            return 1
    return 0
