#!/usr/bin/env python3
"""Self-test of tools/check_rules.py: the script is copied into a small fake tree in a temporary
directory and must pass it clean, then find every planted violation (an include edge, a symbol
edge, a CMake link, src/ on an include path, a banned call, an unknown layer, a private header
or lock call outside its layers) and a stale allow-list entry, and accept an allow-listed finding.
Python standard library only."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                      "check_rules.py")

CLEAN = {
    "src/core/common.h": "#define SL_OK 0\nint sl_core_fn(void);\n",
    "src/core/common.c": '#include "core/common.h"\nint sl_core_fn(void) { return SL_OK; }\n',
    "src/wire/json.h": '#include "core/common.h"\ntypedef struct {\n    int x;\n} sl_json_t;\n'
                       "int sl_json_parse(sl_json_t *j);\n",
    "src/wire/json.c": '#include "wire/json.h"\n#include <stdio.h>\n'
                       "int sl_json_parse(sl_json_t *j) {\n    char b[8];\n"
                       '    snprintf(b, sizeof b, "%d", j->x); /* not sprintf( */\n'
                       "    return sl_core_fn();\n}\n",
    "src/net/loop.c": '#include "core/common.h"\nint sl_loop_run(void) { return sl_core_fn(); }\n',
    "src/wire/CMakeLists.txt": "sl_layer(wire)\ntarget_link_libraries(sl_wire PUBLIC sl_core)\n",
    "src/net/CMakeLists.txt": "sl_layer(net)\ntarget_link_libraries(sl_net PRIVATE sl_core)\n",
    "tools/check_rules.allow": "# nothing known\n",
}


class CheckRulesTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check-rules-")
        self.write(CLEAN)
        shutil.copy(SCRIPT, os.path.join(self.root, "tools", "check_rules.py"))

    def tearDown(self):
        shutil.rmtree(self.root)

    def write(self, files):
        for path, text in files.items():
            full = os.path.join(self.root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", encoding="utf-8") as f:
                f.write(text)

    def run_check(self):
        proc = subprocess.run([sys.executable, os.path.join(self.root, "tools", "check_rules.py")],
                              capture_output=True, text=True, timeout=60)
        return proc.returncode, proc.stdout

    def test_clean_tree_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)

    def test_each_violation_is_found(self):
        self.write({
            "src/net/bad.c": '#include "wire/json.h"\n#include "loop.h"\n#include <stdio.h>\n'
                             "int f(char *out, const char *s) {\n    sprintf(out, \"%s\", s);\n"
                             "    return atoi(s);\n}\n",
            "src/net/sym.c": "int sl_json_parse(void *);\nint g(void) { return sl_json_parse(0); }\n",
            "src/net/CMakeLists.txt": "sl_layer(net)\n"
                                      "target_link_libraries(sl_net PRIVATE sl_core sl_wire)\n",
            "bench/x/CMakeLists.txt": "include_directories(${CMAKE_SOURCE_DIR}/src)\n",
            "src/mystery/a.c": "int a;\n",
            "tools/check_rules.allow": "banned src/net/gone.c atoi\n",
            "src/kinesis/engine.h": "void sl_kinesis_wrlock(void *k);\n",
            "src/api/k.c": '#include "kinesis/engine.h"\n'
                           "void h(void *k) {\n    sl_kinesis_wrlock(k);\n}\n",
            "src/server/c.c": '#include "kinesis/engine.h"\nint c;\n',
            "src/server/d.c": '#include "kinesis/open.h"\nint d;\n',
        })
        rc, out = self.run_check()
        self.assertEqual(rc, 1, out)
        for needle in ('src/net/bad.c:1: [include] include "wire/json.h": net may not use wire',
                       'src/net/bad.c:2: [include] include "loop.h" without its layer',
                       "src/net/bad.c:5: [banned] sprintf()",
                       "src/net/bad.c:6: [banned] atoi()",
                       "src/net/sym.c:1: [symbol] sl_json_parse (declared in src/wire/)",
                       "src/net/CMakeLists.txt:2: [link] links sl_wire: net may not use wire",
                       "bench/x/CMakeLists.txt:1: [link] puts src/ on an include path",
                       "src/mystery:0: [layer]",
                       "[allow] 'banned src/net/gone.c atoi' no longer occurs",
                       'src/api/k.c:1: [private] include "kinesis/engine.h": private to',
                       "src/api/k.c:3: [private] sl_kinesis_wrlock() (kinesis/engine.h) is "
                       "private to kinesis",
                       'src/server/c.c:1: [private] include "kinesis/engine.h": private to'):
            self.assertIn(needle, out)
        self.assertNotIn("src/server/d.c", out)

    def test_allow_listed_finding_passes(self):
        self.write({
            "src/net/bad.c": "#include <stdlib.h>\nint f(const char *s) { return atoi(s); }\n",
            "tools/check_rules.allow": "# being removed elsewhere\nbanned src/net/bad.c atoi\n",
        })
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    unittest.main()
