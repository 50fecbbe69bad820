#!/usr/bin/env python3
"""Every relative link in the project's markdown resolves (`make check-links`).

Checks README.md, SECURITY.md, docs/*.md, cli/README.md (when present) and
migrations/README.md: each relative link target must exist, and each `#anchor` must
name a heading (GitHub's slug rules) or an explicit `id`/`name` in the target file.
External links (http:, https:, mailto:) are not fetched.

Also checks the section references in code comments, `(docs/operations.md,
"Operations")`: the named file must exist and have a heading of that title, so a
moved section cannot leave a comment pointing at nothing.

Links to files that another branch is adding are listed in .ci/links-pending (one
path per line, `#` comments): while such a file is missing, a link to it is reported
as pending instead of failing. Once the file exists, its links and anchors are
checked like any other.

Standard library only. Exit 0 when everything resolves, 1 otherwise.
Usage: check_links.py [FILE.md ...]   (default: the files above)
"""

import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parent.parent
PENDING_FILE = ROOT / ".ci" / "links-pending"

FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(.+?)\1")
# [text](target "title") and ![alt](target); the target may be <wrapped>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
HTML_ID = re.compile(r"""<[^>]+\s(?:id|name)\s*=\s*["']([^"']+)["']""")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...
# (docs/operations.md, "Operations") or (SECURITY.md, "Threat model") in code comments.
# (In JSON strings the quotes are escaped: \"…\".)
SECTION_REF = re.compile(r'((?:docs/[\w.-]+|[\w-]+/README|README|SECURITY)\.md),\s*(?://[!/]?\s*|#\s*|--\s*)?\\?"([^"\\]+)\\?"')
# docs/<file>.md named anywhere in code: the file must exist.
DOC_PATH = re.compile(r"(?<![\w/.-])docs/[\w-]+\.md\b")
# The form used before the docs split, (README, "Section"): README.md must still have it.
BARE_README_REF = re.compile(r'\bREADME,\s*(?://[!/]?\s*|#\s*|--\s*)?\\?"([^"\\]+)\\?"')


def default_files():
    files = [ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "migrations" / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    if (ROOT / "cli" / "README.md").exists():
        files.append(ROOT / "cli" / "README.md")
    return files


def slug(heading):
    """GitHub's anchor for a heading: its rendered text, lowercased, everything but
    letters, marks, digits, connector punctuation (`_`), spaces and hyphens removed,
    spaces turned into hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(2), heading)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links: their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = re.sub(r"(\*\*|__|\*)", "", text)  # emphasis markers
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -" or cat[0] in "LMN" or cat == "Pc":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def strip_code(lines):
    """The lines outside fenced code blocks, with inline code spans blanked, each with
    its 1-based number."""
    in_fence = None
    for number, line in enumerate(lines, 1):
        fence = FENCE.match(line)
        if fence:
            marker = fence.group(1)
            if in_fence is None:
                in_fence = marker
            elif marker == in_fence:
                in_fence = None
            continue
        if in_fence is None:
            yield number, INLINE_CODE.sub(lambda m: " " * len(m.group(0)), line)


_anchor_cache = {}


def anchors(path):
    """Every anchor a markdown file defines: heading slugs (duplicates numbered -1,
    -2, … as GitHub does) and explicit HTML ids/names."""
    if path not in _anchor_cache:
        found, seen = set(), {}
        lines = path.read_text(encoding="utf-8").split("\n")
        in_fence = None
        for line in lines:
            fence = FENCE.match(line)
            if fence:
                marker = fence.group(1)
                in_fence = marker if in_fence is None else (None if marker == in_fence else in_fence)
                continue
            if in_fence is not None:
                continue
            found.update(HTML_ID.findall(line))
            heading = HEADING.match(line)
            if heading:
                base = slug(heading.group(2))
                count = seen.get(base, 0)
                seen[base] = count + 1
                found.add(base if count == 0 else f"{base}-{count}")
        _anchor_cache[path] = found
    return _anchor_cache[path]


def headings(path):
    """Heading titles of a markdown file, as rendered text (code spans unwrapped)."""
    titles = set()
    in_fence = None
    for line in path.read_text(encoding="utf-8").split("\n"):
        fence = FENCE.match(line)
        if fence:
            marker = fence.group(1)
            in_fence = marker if in_fence is None else (None if marker == in_fence else in_fence)
            continue
        heading = HEADING.match(line) if in_fence is None else None
        if heading:
            titles.add(INLINE_CODE.sub(lambda m: m.group(2), heading.group(2)).strip())
    return titles


def has_section(path, title):
    """A heading titled `title`, or starting with it (`"Node directory"` names
    `## Node directory: GET /node?nodeServices=N`)."""
    return any(
        h == title or (h.startswith(title) and h[len(title)] in " :—(")
        for h in headings(path)
    )


def pending_paths():
    if not PENDING_FILE.exists():
        return set()
    paths = set()
    for line in PENDING_FILE.read_text(encoding="utf-8").split("\n"):
        line = line.split("#", 1)[0].strip()
        if line:
            paths.add((ROOT / line).resolve())
    return paths


def rel(path):
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def check_file(path, pending, errors, notes):
    lines = path.read_text(encoding="utf-8").split("\n")
    # The prose only (fenced blocks and code spans blanked), as one text so that a
    # link whose text wraps onto the next line is still found.
    prose = [""] * len(lines)
    for number, line in strip_code(lines):
        prose[number - 1] = line
    text = "\n".join(prose)
    found = [(m.start(), m.group(1)) for m in INLINE_LINK.finditer(text)]
    found += [(m.start(), m.group(1)) for m in REFERENCE_DEF.finditer(text)]
    for offset, raw in sorted(found):
        number = text.count("\n", 0, offset) + 1
        target = raw[1:-1] if raw.startswith("<") and raw.endswith(">") else raw
        where = f"{rel(path)}:{number}: {target}"
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        file_part = unquote(file_part)
        dest = path if file_part == "" else (path.parent / file_part).resolve()
        if not dest.exists():
            if dest in pending:
                notes.append(f"{where}: pending (.ci/links-pending: another branch adds it)")
            else:
                errors.append(f"{where}: no such file")
            continue
        if not anchor:
            continue
        if dest.is_dir() or dest.suffix.lower() != ".md":
            errors.append(f"{where}: an anchor into something that is not a markdown file")
            continue
        if unquote(anchor) not in anchors(dest):
            errors.append(f"{where}: no heading or id '#{anchor}' in {rel(dest)}")


def tracked_text_files():
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "-z"], check=True, capture_output=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    files = []
    for name in out.decode().split("\0"):
        # Generated data, and this checker (its docstrings show the forms it finds).
        if not name or name in ("migrations/0006_free_mail_domains.sql", ".ci/check_links.py"):
            continue
        path = ROOT / name
        if path.suffix in {".rs", ".toml", ".sh", ".mjs", ".js", ".py", ".sql", ".md", ".json"} or path.name == "Makefile":
            files.append(path)
    return files


# A reference may wrap onto the next comment line: `(docs/x.md, "D1 round\n//! trips")`.
COMMENT_WRAP = re.compile(r"\s*\n\s*(?://[!/]?|#|--)?\s*")


def check_section_refs(pending, errors, notes):
    for path in tracked_text_files():
        if not path.exists() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for m in SECTION_REF.finditer(text):
            doc, title = m.group(1), COMMENT_WRAP.sub(" ", m.group(2))
            number = text.count("\n", 0, m.start()) + 1
            where = f"{rel(path)}:{number}: {doc}, \"{title}\""
            dest = (ROOT / doc).resolve()
            if not dest.exists():
                if dest in pending:
                    notes.append(f"{where}: pending (.ci/links-pending)")
                else:
                    errors.append(f"{where}: no such file")
            elif not has_section(dest, title):
                errors.append(f"{where}: no section of that title in {doc}")
        for m in BARE_README_REF.finditer(text):
            title = COMMENT_WRAP.sub(" ", m.group(1))
            if not has_section(ROOT / "README.md", title):
                number = text.count("\n", 0, m.start()) + 1
                errors.append(
                    f"{rel(path)}:{number}: README, \"{title}\": README.md has no such "
                    "section (it moved to docs/: name the file)"
                )
        for m in DOC_PATH.finditer(text) if path.suffix != ".md" else ():
            if not (ROOT / m.group(0)).exists() and (ROOT / m.group(0)).resolve() not in pending:
                number = text.count("\n", 0, m.start()) + 1
                errors.append(f"{rel(path)}:{number}: {m.group(0)}: no such file")


def main(argv):
    pending = pending_paths()
    files = [Path(a).resolve() for a in argv] if argv else default_files()
    errors, notes = [], []
    for path in files:
        if not path.exists():
            errors.append(f"{rel(path)}: file to check does not exist")
            continue
        check_file(path, pending, errors, notes)
    if not argv:
        check_section_refs(pending, errors, notes)
    for note in notes:
        print(f"note: {note}")
    for error in errors:
        print(f"broken: {error}", file=sys.stderr)
    checked = ", ".join(rel(f) for f in files)
    if errors:
        print(f"check-links: {len(errors)} broken link(s) in {checked}", file=sys.stderr)
        return 1
    print(f"check-links: every relative link and anchor resolves ({checked})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
