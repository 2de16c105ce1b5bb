"""pytest collects scenario files: one test item per case (after matrix
expansion), named by the case, in a module named by the file, with a marker
per catalogue rule (the ID with '-' as '_', e.g. PSK_BINDER_INVALID), so that

    pytest scenarios/ -k binder --junitxml=report.xml
    pytest scenarios/ -m PSK_BINDER_INVALID

work as a TLS engineer expects. Each file is run once through `tlsdrill run
--json` (strict mode; TD_SCN_LENIENT=1 for lenient, TD_SCN_SEED for the seed);
its items report their case's verdict and reason. The CLI comes from
TD_BUILD_DIR (default build/default)."""
import json
import os
import pathlib
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _tlsdrill():
    return pathlib.Path(os.environ.get("TD_BUILD_DIR", ROOT / "build" / "default")) / "tlsdrill"


def _marker(rule_id):
    return rule_id.replace("-", "_")


def pytest_configure(config):
    exe = _tlsdrill()
    if not exe.exists():
        return
    r = subprocess.run([str(exe), "rules"], capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines()[:-1]:
        rid = line.split()[0]
        config.addinivalue_line("markers", "%s: catalogue rule %s" % (_marker(rid), rid))


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".scn":
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    _results = None

    def collect(self):
        exe = _tlsdrill()
        if not exe.exists():
            raise pytest.UsageError("tlsdrill not built at %s" % exe)
        r = subprocess.run([str(exe), "run", "--list", str(self.path)], capture_output=True, text=True,
                           cwd=ROOT, timeout=120)
        if r.returncode != 0:
            raise ScenarioLintError(r.stderr)
        for line in r.stdout.splitlines():
            _, lineno, name, rules = line.split("\t")
            item = ScenarioItem.from_parent(self, name=name, lineno=int(lineno),
                                            rules=[x for x in rules.split(",") if x])
            for rid in item.rules:
                item.add_marker(getattr(pytest.mark, _marker(rid)))
            yield item

    def results(self):
        if self._results is None:
            with tempfile.TemporaryDirectory() as d:
                out = pathlib.Path(d) / "r.json"
                cmd = [str(_tlsdrill()), "run", str(self.path), "--json", str(out),
                       "--seed", os.environ.get("TD_SCN_SEED", "0")]
                if os.environ.get("TD_SCN_LENIENT") == "1":
                    cmd.append("--lenient")
                subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
                data = json.loads(out.read_text())
            self._results = {c["name"]: c for c in data["cases"]}
        return self._results


class ScenarioLintError(Exception):
    pass


class ScenarioItem(pytest.Item):
    def __init__(self, *, lineno, rules, **kw):
        super().__init__(**kw)
        self.lineno = lineno
        self.rules = rules

    def runtest(self):
        res = self.parent.results().get(self.name)
        if res is None:
            raise ScenarioFailure("case did not run")
        if res["grade"] != "pass":
            raise ScenarioFailure("%s (%s): expected %s, actual %s: %s" % (
                res["grade"], res["level"], res["expected"], res["actual"], res["reason"]))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return "%s:%d: %s" % (self.path, self.lineno, excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.lineno - 1, "scenario %s [%s]" % (self.name, ",".join(self.rules) or "-")


class ScenarioFailure(Exception):
    pass
