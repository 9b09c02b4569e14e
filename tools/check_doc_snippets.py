#!/usr/bin/env python3
"""Keeps the C++ code and output blocks of docs/*.md equal to the compiled snippets.

In a doc, a fenced block right after a marker line is generated from a file:
    <!-- snippet: NAME.cpp -->          the whole docs/snippets/NAME.cpp (marker lines dropped)
    <!-- snippet: NAME.cpp#REGION -->   the lines between "// [doc:REGION]" and "// [/doc]", dedented
    <!-- output: NAME.cpp -->           docs/snippets/NAME.out, the program's checked stdout
    <!-- test: PATH#REGION -->          a region of any compiled file, PATH from the repository root
                                        (also "source:"), e.g. tests/test_doc_adding_a_layer.cpp
ctest builds and runs every snippet (docs/snippets/CMakeLists.txt) and tests/test_docs_snippets.cpp
fails when a block differs, so this tool only saves typing:

    tools/check_doc_snippets.py                      report blocks that differ (exit 1 if any)
    tools/check_doc_snippets.py --outputs build      rewrite NAME.out from build/doc_snippets/doc_NAME
    tools/check_doc_snippets.py --update             rewrite the marked blocks from the files
"""
import argparse
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SNIPPETS = DOCS / "snippets"
MARKER = re.compile(r"^<!--\s*(snippet|output|test|source):\s*(\S+)\s*-->\s*$")
REGION_OPEN = re.compile(r"^\s*// \[doc:([A-Za-z0-9_-]+)\]\s*$")
REGION_CLOSE = re.compile(r"^\s*// \[/doc\]\s*$")


def dedent(lines):
    indents = [len(l) - len(l.lstrip(" ")) for l in lines if l.strip()]
    cut = min(indents) if indents else 0
    return [l[cut:] if l.strip() else "" for l in lines]


def snippet_text(ref):
    """The text a marker names: a whole snippet, one region of it, or its expected output."""
    kind, ref = ref
    name, _, region = ref.partition("#")
    path = (SNIPPETS if kind in ("snippet", "output") else ROOT) / name
    if kind == "output":
        return (SNIPPETS / (path.stem + ".out")).read_text()
    lines = path.read_text().splitlines()
    if not region:
        kept = [l for l in lines if not REGION_OPEN.match(l) and not REGION_CLOSE.match(l)]
        return "".join(l + "\n" for l in kept)
    body, inside = [], False
    for l in lines:
        m = REGION_OPEN.match(l)
        if m and m.group(1) == region:
            inside = True
        elif inside and REGION_CLOSE.match(l):
            return "".join(l + "\n" for l in dedent(body))
        elif inside and not REGION_OPEN.match(l):
            body.append(l)
    raise SystemExit(f"{path}: no region '{region}'")


def process(doc, update):
    """Returns the number of marked blocks that differ; rewrites them when update is set."""
    lines = doc.read_text().splitlines(keepends=True)
    out, stale, marker, i = [], 0, None, 0
    while i < len(lines):
        line = lines[i]
        m = MARKER.match(line.rstrip("\n"))
        if m:
            marker = (m.group(1), m.group(2))
        elif line.startswith("```") and marker:
            end = i + 1
            while end < len(lines) and lines[end].rstrip("\n") != "```":
                end += 1
            current = "".join(lines[i + 1:end])
            wanted = snippet_text(marker)
            if current != wanted:
                stale += 1
                print(f"{doc.relative_to(ROOT)}:{i + 1}: block differs from {marker[1]} ({marker[0]})")
            out.append(line)
            out.append(wanted if update else current)
            out.append(lines[end] if end < len(lines) else "```\n")
            i, marker = end + 1, None
            continue
        elif line.strip():
            marker = None
        out.append(line)
        i += 1
    if update and stale:
        doc.write_text("".join(out))
    return stale


def write_outputs(build):
    for src in sorted(SNIPPETS.glob("*.cpp")):
        exe = pathlib.Path(build) / "doc_snippets" / f"doc_{src.stem}"
        if not exe.exists():
            raise SystemExit(f"{exe} is missing: build target doc_{src.stem} first")
        run = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
        (SNIPPETS / f"{src.stem}.out").write_text(run.stdout)
        print(f"wrote docs/snippets/{src.stem}.out")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--outputs", metavar="BUILD_DIR", help="rewrite the .out files from the built snippets")
    parser.add_argument("--update", action="store_true", help="rewrite the marked blocks in docs/*.md")
    args = parser.parse_args()
    if args.outputs:
        write_outputs(args.outputs)
    stale = sum(process(doc, args.update) for doc in sorted(DOCS.glob("*.md")))
    if args.update:
        print(f"updated {stale} block(s)")
        return 0
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
