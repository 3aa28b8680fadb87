#!/usr/bin/env python3
"""Renders the machine's manual pages to Markdown, one file per page, for the knowledge base benchmark.

Real text, not random words: every page is rendered with `man -l` (groff) and its section headings
(NAME, DESCRIPTION, OPTIONS...) become Markdown headings, so the importer cuts it as it would cut our own
documents. French pages (/usr/share/man/fr) are marked `language: fr`.

    python3 Benchmarks/kb/make_corpus.py /tmp/kb-corpus            # every page of sections 1, 5, 7, 8 + French
    python3 Benchmarks/kb/make_corpus.py /tmp/kb-corpus --limit 500 # a quick sample
    python3 Benchmarks/kb/make_corpus.py /tmp/kb-corpus --questions-only

Also writes questions.list (an extension the importer ignores): one question per line, built from the
NAME line of every 50th rendered page ("ls - list directory contents" -> "how do I list directory
contents?"), followed by hand-written ones in English and French.
"""
import argparse
import os
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor

SECTIONS = ["man1", "man5", "man7", "man8"]

HAND_WRITTEN = [
    "how do I list files sorted by modification time",
    "change the permissions of a file recursively",
    "compress a directory into a tar archive",
    "find files larger than a given size",
    "show the disk usage of a folder",
    "how to kill a process by name",
    "set an environment variable for one command",
    "copy files over ssh to another machine",
    "follow the end of a log file as it grows",
    "count the lines of a file",
    "search text recursively in files with a regular expression",
    "replace a word in a file with sed",
    "schedule a job to run every night",
    "mount a usb disk",
    "create a symbolic link",
    "which process is listening on a port",
    "show the manual page of a command",
    "configure the network interface address",
    "add a user to a group",
    "change the owner of files",
    "display the date in another time zone",
    "check the integrity of a file with a checksum",
    "sort lines numerically in reverse order",
    "remove duplicate lines",
    "split a large file into pieces",
    "how to format a partition with ext4",
    "restart a systemd service",
    "view the kernel messages",
    "limit the memory a process can use",
    "how do git branches work",
    "comment changer les permissions d'un fichier",
    "afficher l'espace disque utilisé",
    "créer une archive compressée",
    "rechercher un motif dans des fichiers",
    "ajouter un utilisateur",
    "configurer le clavier en français",
    "lister les processus en cours",
    "modifier le mot de passe d'un utilisateur",
]


def render(path):
    env = dict(os.environ, MANWIDTH="100", LANG="C.UTF-8")
    try:
        out = subprocess.run(["man", "--nh", "--nj", "-l", "-E", "UTF-8", path], env=env, capture_output=True, timeout=60).stdout
        out = subprocess.run(["col", "-bx"], input=out, capture_output=True, timeout=60).stdout
        return out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return ""


def to_markdown(text, title, language):
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines:
        lines.pop(0)  # header: "LS(1)   User Commands   LS(1)"
    while lines and not lines[-1].strip():
        lines.pop()
    if lines:
        lines.pop()  # footer: "GNU coreutils 9.1   September 2022   LS(1)"
    body = []
    name_line = ""
    in_name = False
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if stripped and indent == 0:
            body.append("")
            body.append("## " + stripped.title())
            body.append("")
            in_name = stripped in ("NAME", "NOM")
            continue
        if stripped and indent == 3 and len(stripped) < 60 and not stripped.endswith("."):
            body.append("")
            body.append("### " + stripped)
            body.append("")
            continue
        text_line = line[7:] if line.startswith("       ") else line.lstrip(" ")
        if text_line.startswith("#"):
            text_line = "\\" + text_line
        if in_name and stripped and not name_line:
            name_line = stripped
        body.append(text_line.rstrip())
    front = f'---\ntitle: "{title}"\nlanguage: {language}\ntags: [manual]\n---\n\n# {title}\n'
    return front + "\n".join(body) + "\n", name_line


def job(args):
    source, target, title, language = args
    markdown, _ = to_markdown(render(source), title, language)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(markdown)


def name_line_of(path):
    """The first line under the NAME (or NOM) heading of a rendered page."""
    with open(path, encoding="utf-8") as handle:
        in_name = False
        for line in handle:
            stripped = line.strip()
            if stripped.startswith("## "):
                in_name = stripped in ("## Name", "## Nom")
            elif in_name and stripped:
                return stripped
    return ""


def write_questions(output):
    pages = []
    for folder, _, files in os.walk(output):
        pages += [os.path.join(folder, name) for name in files if name.endswith(".md")]
    questions = []
    for index, page in enumerate(sorted(pages)):
        if index % 50 == 0:
            question = question_from(name_line_of(page))
            if question:
                questions.append(question)
    with open(os.path.join(output, "questions.list"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(questions + HAND_WRITTEN) + "\n")
    return len(pages), len(questions) + len(HAND_WRITTEN)


def question_from(name_line):
    match = re.match(r"^(\S.*?)\s+[-\u2014\u2013]+\s+(.+)$", name_line)
    if not match:
        return None
    description = match.group(2).strip().rstrip(".")
    if len(description.split()) < 3:
        return None
    return "how do I " + description[0].lower() + description[1:] + "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--limit", type=int, default=0, help="render only this many pages")
    parser.add_argument("--questions-only", action="store_true", help="only rewrite questions.list")
    options = parser.parse_args()
    if options.questions_only:
        pages, questions = write_questions(options.output)
        print(f"{pages} pages, {questions} questions in {options.output}", file=sys.stderr)
        return
    jobs = []
    roots = [("/usr/share/man", "en"), ("/usr/share/man/fr", "fr")]
    for root, language in roots:
        for section in SECTIONS:
            folder = os.path.join(root, section)
            if not os.path.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                source = os.path.join(folder, name)
                if not os.path.isfile(source):
                    continue
                page = re.sub(r"\.gz$", "", name)
                base, _, number = page.rpartition(".")
                title = f"{base}({number})"
                target = os.path.join(options.output, language, section, page.replace("/", "_") + ".md")
                jobs.append((source, target, title, language))
    if options.limit:
        step = max(1, len(jobs) // options.limit)
        jobs = jobs[::step][: options.limit]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(job, jobs, chunksize=16))
    pages, questions = write_questions(options.output)
    print(f"{pages} pages, {questions} questions in {options.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
