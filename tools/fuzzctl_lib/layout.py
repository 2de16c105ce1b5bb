"""Where fuzzctl finds things: the fuzz contract's project layout.

Defaults are the real project (fuzz/targets.txt, build/<preset>/fuzz/,
corpus/<target>/, corpus/regressions/<target>/); every path can be overridden
so the same code runs on the test fixture."""
import configparser
import os
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent

# Engine -> (CMake preset, binary prefix).
ENGINE_PRESETS = {"libfuzzer": ("libfuzzer", "fuzz_"), "afl": ("afl", "fuzz_"), "replay": ("default", "replay_")}

# Twins share dictionaries, options and seeds with their base target.
TWIN_SUFFIX = "_fm"


class LayoutError(Exception):
    pass


def read_target_names(path):
    """The target names of a fuzz/targets.txt: the first word of each line,
    comments (#) and blank lines skipped; the other words are flags CMake reads
    (fuzz/targets.cmake)."""
    names = []
    for line in pathlib.Path(path).read_text().splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            names.append(words[0])
    return names


class Layout:
    def __init__(self, root=None, targets_file=None, corpus_root=None, build_root=None, tlsdrill=None):
        self.root = pathlib.Path(root or os.environ.get("TD_FUZZCTL_ROOT") or ROOT).resolve()
        self.targets_file = pathlib.Path(targets_file) if targets_file else self.root / "fuzz" / "targets.txt"
        self.corpus_root = pathlib.Path(corpus_root) if corpus_root else self.root / "corpus"
        self.build_root = pathlib.Path(build_root) if build_root else self.root / "build"
        self.fuzz_src = self.targets_file.parent
        self._tlsdrill = tlsdrill

    # ---- targets ----
    def all_targets(self):
        if not self.targets_file.is_file():
            raise LayoutError("no target list at %s (the fuzz targets are not built into this tree)" % self.targets_file)
        names = read_target_names(self.targets_file)
        if not names:
            raise LayoutError("%s lists no targets" % self.targets_file)
        return names

    def select_targets(self, wanted):
        names = self.all_targets()
        if not wanted:
            return names
        unknown = [t for t in wanted if t not in names]
        if unknown:
            raise LayoutError("unknown target(s): %s (known: %s)" % (", ".join(unknown), ", ".join(names)))
        return list(wanted)

    # ---- builds ----
    def build_dir(self, engine):
        return self.build_root / ENGINE_PRESETS[engine][0] / "fuzz"

    def binary(self, engine, target, build_dir=None):
        d = pathlib.Path(build_dir) if build_dir else self.build_dir(engine)
        return d / (ENGINE_PRESETS[engine][1] + target)

    def reproducer(self, target, prefer=("libfuzzer", "replay", "afl")):
        """The binary that best explains a crash: sanitizers + symbols first."""
        for engine in prefer:
            b = self.binary(engine, target)
            if b.is_file():
                return engine, b
        return None, None

    def tlsdrill(self):
        """The tlsdrill CLI if it has the `replay` command, else None."""
        cand = pathlib.Path(self._tlsdrill) if self._tlsdrill else self.build_root / "default" / "tlsdrill"
        if not cand.is_file():
            return None
        import subprocess

        try:
            p = subprocess.run([str(cand), "replay", "--help"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        text = (p.stdout + p.stderr).lower()
        if "unknown command" in text or "usage: tlsdrill replay" not in text and p.returncode != 0:
            return None
        return cand

    # ---- per-target files ----
    def _base(self, target):
        return target[: -len(TWIN_SUFFIX)] if target.endswith(TWIN_SUFFIX) else target

    def _side_file(self, target, ext):
        for name in (target, self._base(target)):
            p = self.fuzz_src / (name + ext)
            if p.is_file():
                return p
        return None

    def dict_file(self, target):
        return self._side_file(target, ".dict")

    def options(self, target):
        """[libfuzzer] section of fuzz/<target>.options as a dict of strings."""
        p = self._side_file(target, ".options")
        if p is None:
            return {}
        cp = configparser.ConfigParser()
        cp.read(p)
        return dict(cp["libfuzzer"]) if cp.has_section("libfuzzer") else {}

    def seed_dir(self, target):
        for name in (target, self._base(target)):
            p = self.corpus_root / name
            if p.is_dir():
                return p
        return self.corpus_root / target

    def regression_dir(self, target):
        return self.corpus_root / "regressions" / target


def corpus_files(d):
    d = pathlib.Path(d)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))


def which(name):
    return shutil.which(name)
