#!/usr/bin/env python3
"""check_rules.py: the layering and safety rules of shared/DESIGN.md and STYLE.md, checked.

Rules (each finding names file:line and the rule):
  layer    every folder under src/ is a layer listed in LAYERS below.
  include  a file of layer L includes only "L/..." or "M/..." for an M that L may use, always with
           the "layer/file.h" form (the per-layer include directories in CMakeLists.txt rely on it).
  symbol   a file of layer L names no sl_*/SL_* function, type or macro declared in the headers of
           a layer M that L may not use (this catches uses through a header that includes M's).
  link     src/<L>/CMakeLists.txt links only sl_<M> for layers M that L may use; no CMake file
           puts src/ itself on an include path (that would make every layer visible).
  banned   no call in src/ of a function that cannot be used safely (BANNED below).
  private  a core's private header is included, and its private functions (its lock) are called,
           only by the layers PRIVATE below allows (api/ bindings use the typed core only).
Known violations that other work is removing are listed in tools/check_rules.allow; a finding not
in that list fails, and so does an entry there that no longer occurs (the list only shrinks).

  --format [--clang-format PATH]: instead, run `clang-format --dry-run -Werror` over the C files
  of src/, tests/ and bench/ (not generated ones) and report lines longer than the .clang-format
  ColumnLimit that clang-format leaves alone (long strings, comments it cannot break).

Python standard library only. Exit status 0 when clean, 1 on findings, 2 on usage errors.
"""
import argparse
import os
import re
import subprocess
import sys

# The layer map of shared/DESIGN.md ("Layers"): each layer and the layers it may use. A layer may
# always use itself. Change DESIGN.md first, then this table; the CMake link lines follow it.
_SERVICES = ["core", "wire", "catalog", "kms", "iam", "kinesis", "objstore"]
LAYERS = {
    "core": [],
    "net": ["core"],
    "wire": ["core"],
    "storage": ["core"],
    "catalog": ["core"],
    "kms": ["core", "catalog"],
    "iam": ["core", "wire", "catalog"],
    "kinesis": ["core", "storage", "catalog", "kms"],
    "dynamodb": ["core", "catalog"],
    "objstore": ["core"],
    # CloudWatch's metric store: data from PutMetricData and samples of core's metrics registry
    "cloudwatch": ["core"],
    # SQS and SNS (the failure destinations of event-source mappings): SNS delivers to SQS
    # queues in-process and to HTTP endpoints with net's outbound client on its own loop; it
    # writes its JSON envelopes with wire.
    "sqs": ["core", "catalog"],
    "sns": ["core", "catalog", "net", "wire", "sqs"],
    # firehose keeps each delivery stream's buffer in a storage log of its own (the streams' group
    # commit) and posts to HTTP endpoints and external S3 with net's outbound client
    "firehose": _SERVICES + ["storage", "net"],
    # esm invokes functions in process (the functions core), runs its pollers on a net loop and
    # sends OnFailure records to SQS queues and SNS topics in process
    "esm": _SERVICES + ["functions", "net", "sqs", "sns"],
    # functions runs its supervisor on a net loop with timers (DESIGN.md: net owns the loops
    # "also for service threads")
    "functions": _SERVICES + ["net"],
    # analytics applications read and write Firehose delivery streams (KinesisFirehoseInput and
    # KinesisFirehoseOutput) through the Firehose core
    "analytics": _SERVICES + ["firehose"],
    "video": _SERVICES,
    "front": ["core", "net", "wire"],
    "api": ["core", "net", "wire", "front", "kinesis", "dynamodb", "objstore", "firehose", "esm",
            "functions", "analytics", "video", "iam", "kms", "sqs", "sns", "cloudwatch"],
    "client": ["core", "net", "wire"],
    "cli": ["core", "net", "wire", "client"],
    "server": ["core", "net", "wire", "storage", "catalog", "kms", "iam", "kinesis", "dynamodb",
               "objstore", "firehose", "esm", "functions", "analytics", "video", "front", "api",
               "client", "cli", "sqs", "sns", "cloudwatch"],
}

# Calls with no bound or no error report, and their replacements (STYLE.md: every buffer has a
# bound; input gets an error, never undefined behaviour).
BANNED = {
    "sprintf": "snprintf",
    "vsprintf": "vsnprintf",
    "strcpy": "memcpy with a checked length, or snprintf",
    "strcat": "snprintf or memcpy with a checked length",
    "strncpy": "memcpy with a checked length (strncpy may leave no NUL)",
    "strncat": "snprintf or memcpy with a checked length",
    "gets": "fgets",
    "atoi": "strtol with an error check",
    "atol": "strtol with an error check",
    "atoll": "strtoll with an error check",
    "atof": "strtod with an error check",
    "strtok": "strtok_r or an explicit scan",
    "tmpnam": "mkstemp",
    "mktemp": "mkstemp",
    "gmtime": "gmtime_r",
    "localtime": "localtime_r",
    "asctime": "strftime",
    "ctime": "strftime",
}

# Headers and functions private to a layer: who may include the header, who may call the
# functions. A binding (api/) reaches a core through its typed header only (kinesis/kinesis.h and
# kinesis/control.h): the engine's state and its lock stay inside kinesis/ (the composition root
# opens and closes engines through kinesis/open.h).
PRIVATE = {
    "kinesis/engine.h": {"include": ["kinesis"],
                         "call": {"sl_kinesis_rdlock": ["kinesis"],
                                  "sl_kinesis_wrlock": ["kinesis"],
                                  "sl_kinesis_unlock": ["kinesis"]}},
}

# Files produced by a generator (they follow the generator's layout, not clang-format's): the
# service models of tools/gen_model.py.
GENERATED = re.compile(r"^src/api/[^/]+/model\.c$")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOW_FILE = os.path.join("tools", "check_rules.allow")


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def c_files(top, exts=(".c", ".h")):
    out = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = sorted(d for d in dirnames if d not in ("node_modules", "corpus"))
        for name in sorted(filenames):
            if name.endswith(exts):
                out.append(rel(os.path.join(dirpath, name)))
    return out


def strip_c(text):
    """Comments and the contents of string and character literals become spaces; line breaks
    are kept, so line numbers stay right."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def layer_of(path):
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "src" else None


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return f.read()


def may_use(layer, other):
    return other == layer or other in LAYERS.get(layer, [])


# Declarations in a header: macros, functions (at column 0), typedef names, struct and enum tags,
# enum constants (indented "SL_X = ..." or "SL_X,").
DECL_PATTERNS = [
    re.compile(r"^\s*#\s*define\s+((?:sl|SL)_\w+)", re.M),
    re.compile(r"^[A-Za-z_][^;{}()#=]*?\b(sl_\w+)\s*\(", re.M),
    re.compile(r"\btypedef\b[^;]*?\(\s*\*\s*(sl_\w+)\s*\)", re.S),
    re.compile(r"^\s*}\s*(sl_\w+_t)\s*;", re.M),
    re.compile(r"\btypedef\s+(?:struct|enum|union)?\s*\w*\s+\**(sl_\w+)\s*;"),
    re.compile(r"\b(?:struct|enum|union)\s+(sl_\w+)\s*\{"),
    re.compile(r"^\s+(SL_[A-Z0-9_]+)\s*(?:=[^=]|,|$)", re.M),
]


def header_symbols(files):
    """Map from each sl_*/SL_* name declared in a layer's headers to that layer (names declared
    in two layers are left out: the include rule covers them)."""
    owners = {}
    for path in files:
        layer = layer_of(path)
        if layer is None or not path.endswith(".h"):
            continue
        text = strip_c(read(path))
        for pat in DECL_PATTERNS:
            for m in pat.finditer(text):
                owners.setdefault(m.group(1), set()).add(layer)
    return {name: next(iter(ls)) for name, ls in owners.items() if len(ls) == 1}


def check_sources(findings):
    files = c_files("src")
    layers = sorted({layer_of(p) for p in files if layer_of(p)} |
                    {d for d in os.listdir(os.path.join(ROOT, "src"))
                     if os.path.isdir(os.path.join(ROOT, "src", d))})
    for layer in layers:
        if layer not in LAYERS:
            findings.append(("layer", "src/" + layer, layer, 0,
                             "src/%s is not a layer of shared/DESIGN.md; add it to LAYERS in "
                             "tools/check_rules.py" % layer))
    owners = header_symbols(files)
    include_re = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
    ident_re = re.compile(r"\b(?:sl|SL)_\w+\b")
    banned_re = re.compile(r"(?<![\w.>])(%s)\s*\(" % "|".join(sorted(BANNED)))
    for path in files:
        layer = layer_of(path)
        raw = read(path)
        text = strip_c(raw)
        for m in include_re.finditer(raw):
            target = m.group(1)
            lineno = line_of(raw, m.start())
            if text[raw.index("#", m.start())] != "#":
                continue  # inside a comment (strip_c keeps every offset)
            if "/" not in target:
                findings.append(("include", path, target, lineno,
                                 'include "%s" without its layer: write "%s/%s"'
                                 % (target, layer, target)))
                continue
            other = target.split("/")[0]
            if other not in LAYERS:
                findings.append(("include", path, other, lineno,
                                 'include "%s": "%s" is not a layer' % (target, other)))
            elif not may_use(layer, other):
                findings.append(("include", path, other, lineno,
                                 'include "%s": %s may not use %s (shared/DESIGN.md)'
                                 % (target, layer, other)))
        seen = set()
        for m in ident_re.finditer(text):
            other = owners.get(m.group(0))
            if other is None or may_use(layer, other) or other in seen:
                continue
            seen.add(other)
            findings.append(("symbol", path, other, line_of(text, m.start()),
                             "%s (declared in src/%s/) used in %s: %s may not use %s"
                             % (m.group(0), other, layer, layer, other)))
        check_private(path, layer, raw, text, findings)
        for m in banned_re.finditer(text):
            name = m.group(1)
            findings.append(("banned", path, name, line_of(text, m.start()),
                             "%s(): use %s" % (name, BANNED[name])))


def check_private(path, layer, raw, text, findings):
    include_re = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
    for m in include_re.finditer(raw):
        rule = PRIVATE.get(m.group(1))
        if rule and layer not in rule["include"] and text[raw.index("#", m.start())] == "#":
            findings.append(("private", path, m.group(1), line_of(raw, m.start()),
                             'include "%s": private to %s' % (m.group(1),
                                                             ", ".join(rule["include"]))))
    for header, rule in PRIVATE.items():
        for name, layers in rule["call"].items():
            if layer in layers:
                continue
            for m in re.finditer(r"(?<![\w.>])%s\s*\(" % re.escape(name), text):
                findings.append(("private", path, name, line_of(text, m.start()),
                                 "%s() (%s) is private to %s" % (name, header,
                                                                 ", ".join(layers))))


def check_cmake(findings):
    link_re = re.compile(r"target_link_libraries\s*\(([^)]*)\)", re.S)
    for layer in sorted(os.listdir(os.path.join(ROOT, "src"))):
        path = "src/%s/CMakeLists.txt" % layer
        if layer not in LAYERS or not os.path.exists(os.path.join(ROOT, path)):
            continue
        text = re.sub(r"#[^\n]*", "", read(path))
        for m in link_re.finditer(text):
            for name in re.findall(r"\bsl_(\w+)", m.group(1)):
                other = name[:-len("_headers")] if name.endswith("_headers") else name
                if other == layer or other not in LAYERS and name.endswith("_headers"):
                    continue
                if other not in LAYERS or not may_use(layer, other):
                    findings.append(("link", path, other, line_of(text, m.start()),
                                     "links sl_%s: %s may not use %s (shared/DESIGN.md)"
                                     % (name, layer, other)))
    inc_re = re.compile(r"include_directories\s*\(([^)]*)\)", re.S)
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames
                       if not d.startswith(("build", ".")) and d != "node_modules"]
        for name in filenames:
            if name != "CMakeLists.txt" and not name.endswith(".cmake"):
                continue
            path = rel(os.path.join(dirpath, name))
            text = re.sub(r"#[^\n]*", "", read(path))
            for m in inc_re.finditer(text):
                if re.search(r"\$\{(CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR)\}/src/?(\s|$)",
                             m.group(1) + " "):
                    findings.append(("link", path, "src", line_of(text, m.start()),
                                     "puts src/ on an include path: every layer would be "
                                     "visible; link the layer (sl_<layer>) instead"))


def load_allow():
    entries = {}
    path = os.path.join(ROOT, ALLOW_FILE)
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3:
                sys.stderr.write("%s:%d: expected '<rule> <file> <layer|call>'\n"
                                 % (ALLOW_FILE, lineno))
                sys.exit(2)
            entries[tuple(parts)] = lineno
    return entries


def run_rules():
    findings = []
    check_sources(findings)
    check_cmake(findings)
    allow = load_allow()
    used = set()
    bad = 0
    for rule, path, key, lineno, msg in findings:
        entry = (rule, path, key)
        if entry in allow:
            used.add(entry)
            continue
        print("%s:%d: [%s] %s" % (path, lineno, rule, msg))
        bad += 1
    for entry, lineno in sorted(allow.items(), key=lambda e: e[1]):
        if entry not in used:
            print("%s:%d: [allow] '%s' no longer occurs: remove it from the list"
                  % (ALLOW_FILE, lineno, " ".join(entry)))
            bad += 1
    if bad:
        print("check_rules: %d problem(s); the rules are in tools/check_rules.py" % bad)
        return 1
    print("check_rules: ok (%d allow-listed finding(s) in %d entries)"
          % (len(findings), len(allow)))
    return 0


def column_limit():
    with open(os.path.join(ROOT, ".clang-format"), encoding="utf-8") as f:
        m = re.search(r"^ColumnLimit:\s*(\d+)", f.read(), re.M)
    return int(m.group(1)) if m else 80


def run_format(clang_format):
    files = [p for top in ("src", "tests", "bench") for p in c_files(top)
             if not GENERATED.match(p)]
    bad = 0
    proc = subprocess.run([clang_format, "--dry-run", "-Werror"] + files, cwd=ROOT)
    if proc.returncode != 0:
        print("check_rules: clang-format would change files above; run clang-format -i on them")
        bad += 1
    limit = column_limit()
    for path in files:
        for lineno, line in enumerate(read(path).split("\n"), 1):
            if len(line) > limit:
                print("%s:%d: [length] %d columns, more than %d" % (path, lineno, len(line), limit))
                bad += 1
    if bad:
        return 1
    print("check_rules: format ok (%d files)" % len(files))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--format", action="store_true",
                    help="run clang-format --dry-run -Werror and the line-length check")
    ap.add_argument("--clang-format", default="clang-format", help="clang-format program")
    args = ap.parse_args()
    if args.format:
        return run_format(args.clang_format)
    return run_rules()


if __name__ == "__main__":
    sys.exit(main())
