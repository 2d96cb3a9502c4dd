import json
import textwrap
from pathlib import Path

import pytest

from dataset_builder.config import BuilderConfig, ConfigError
from dataset_builder.corpus_readers import resolve_corpus
from dataset_builder.function_pairs import mine_pairs
from dataset_builder.pipeline import run_stage
from dataset_builder.runs import RunDir
from dataset_builder.stages.pairs import OUTPUT_COLUMNS, run
from tests.helpers.runs import load_rejects

PYTHON = textwrap.dedent(
    '''\
    import re


    class Tokenizer:
        @staticmethod
        def split_words(text: str) -> list[str]:
            """Split text into lower-case words.

            Punctuation is dropped.
            """
            words = re.findall(r"\\w+", text)
            return [w.lower() for w in words]

        def __repr__(self):
            """The representation used in debugging output."""
            name = type(self).__name__
            return f"{name}()"

        def short(self):
            """Return one line only."""
            return "x"

        def test_split_words(self):
            """Check that the splitter works on text."""
            assert self.split_words("A b") == ["a", "b"]
            assert self.split_words("") == []


    def undocumented(x):
        y = x + 1
        return y * 2


    def terse(x):
        """Doc."""
        y = x + 1
        return y * 2
    '''
)

JAVA = textwrap.dedent(
    """\
    package demo;

    /** A tiny class. */
    public class Strings {
        /**
         * Repeats a string, separated by commas.
         */
        public static String repeat(String s, int n) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < n; i++) {
                if (i > 0) { out.append(","); }
                out.append(s);
            }
            return out.toString(); // done "}"
        }

        /** Builds an empty strings helper object. */
        public Strings() {
            super();
            count = 0;
        }

        /** Returns the number of repeats made. */
        public int count() { return count; }

        // Reads the count in a thread-safe way.
        public synchronized int safeCount()
        {
            int c = count;
            return c;
        }
    }
    """
)

RUST = textwrap.dedent(
    """\
    //! Crate docs are not a function comment.

    /// Returns the longer of two string slices.
    ///
    /// Ties go to the first one.
    pub fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {
        let (la, lb) = (a.len(), b.len());
        if la >= lb { a } else { b }
    }

    /// Formats a brace character for the output stream.
    #[inline]
    fn brace(open: bool) -> char {
        let c = if open { '{' } else { '}' };
        c
    }

    /// A documented struct is not a function.
    pub struct Point {
        x: i32,
        y: i32,
    }
    """
)


def test_python_pairs_are_signature_and_docstring_to_body():
    pairs = mine_pairs(PYTHON, "python")
    assert [(p["name"], p["line_start"], p["line_end"]) for p in pairs] == [("split_words", 5, 12)]
    (pair,) = pairs
    assert pair["instruction"] == (
        "@staticmethod\n"
        "def split_words(text: str) -> list[str]:\n"
        '    """Split text into lower-case words.\n'
        "\n"
        "    Punctuation is dropped.\n"
        '    """'
    )
    assert pair["response"] == '    words = re.findall(r"\\w+", text)\n    return [w.lower() for w in words]'


def test_python_filters_dunder_test_tiny_and_undocumented():
    names = {p["name"] for p in mine_pairs(PYTHON, "python")}
    assert names.isdisjoint({"__repr__", "test_split_words", "short", "undocumented", "terse"})


def test_java_pairs_skip_constructors_and_one_line_bodies():
    pairs = mine_pairs(JAVA, "java")
    assert [p["name"] for p in pairs] == ["repeat", "safeCount"]
    repeat, safe = pairs
    assert repeat["instruction"] == (
        "/**\n * Repeats a string, separated by commas.\n */\npublic static String repeat(String s, int n) {"
    )
    assert repeat["response"] == (
        "    StringBuilder out = new StringBuilder();\n"
        "    for (int i = 0; i < n; i++) {\n"
        '        if (i > 0) { out.append(","); }\n'
        "        out.append(s);\n"
        "    }\n"
        '    return out.toString(); // done "}"\n'
        "}"
    )
    assert (repeat["line_start"], repeat["line_end"]) == (5, 15)
    assert safe["instruction"] == "// Reads the count in a thread-safe way.\npublic synchronized int safeCount()\n{"
    assert safe["response"] == "    int c = count;\n    return c;\n}"


def test_rust_pairs_handle_lifetimes_attributes_and_char_braces():
    pairs = mine_pairs(RUST, "rust")
    assert [p["name"] for p in pairs] == ["longest", "brace"]
    longest, brace = pairs
    assert longest["instruction"] == (
        "/// Returns the longer of two string slices.\n///\n/// Ties go to the first one.\n"
        "pub fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {"
    )
    assert longest["response"] == "    let (la, lb) = (a.len(), b.len());\n    if la >= lb { a } else { b }\n}"
    assert brace["instruction"] == (
        "/// Formats a brace character for the output stream.\n#[inline]\nfn brace(open: bool) -> char {"
    )
    assert brace["response"] == "    let c = if open { '{' } else { '}' };\n    c\n}"
    assert (brace["line_start"], brace["line_end"]) == (11, 16)


def test_calls_with_callbacks_and_control_flow_are_not_functions():
    ts = textwrap.dedent(
        """\
        // Registers the handler for the index page route.
        app.get("/", (req, res) => {
            res.send("hello");
            res.end();
        });

        // Loops over every item in the list here.
        for (const item of items) {
            total += item;
            count += 1;
        }

        /** Adds two numbers and logs the result. */
        export const add = (a: number, b: number): number => {
            const sum = a + b;
            console.log(`sum is ${sum}`);
            return sum;
        };
        """
    )
    assert [p["name"] for p in mine_pairs(ts, "typescript")] == ["add"]


def test_files_without_documented_functions_give_none():
    assert mine_pairs("import os\n\nx = 1\n\ndef f(a):\n    b = a\n    return b\n", "python") == []
    assert mine_pairs("class A {\n  int f() {\n    int x = 1;\n    return x;\n  }\n}\n", "java") == []
    assert mine_pairs("#!/bin/sh\n# say hello to the world\nhello() {\n  echo hi\n  echo there\n}\n", "shell") == []
    assert mine_pairs("", "rust") == []
    with pytest.raises(SyntaxError):
        mine_pairs("print 'python 2'\n", "python")


def test_stage_over_the_quickstart_corpus(tmp_path):
    config = BuilderConfig(
        corpus="quickstart",
        output_dir=str(tmp_path),
        languages={"python": 100, "rust": 100, "java": 100, "shell": 100, "csharp": 100},
    )
    seeds = run_stage("seeds", config)
    run_dir = RunDir(tmp_path, "pairs", "fp")
    run_dir.prepare(config.to_dict(), {}, seeds)
    run(config, run_dir, seeds)
    pairs, rejects, stats = run_dir.load(), load_rejects(run_dir), run_dir.stats()

    assert pairs.column_names == list(OUTPUT_COLUMNS)
    assert len(pairs) == stats["kept"] > 20
    assert {"python", "rust", "java", "csharp"} <= set(pairs["lang"])
    seed_rows = {row["raw_index"]: row for row in seeds.load()}
    corpus = Path(resolve_corpus(config)[1])
    manifest = {r["path"]: r for r in map(json.loads, (corpus / "MANIFEST.jsonl").read_text().splitlines())}
    for pair in pairs:
        seed = seed_rows[pair["raw_index"]]
        assert (pair["source"], pair["path"], pair["lang"]) == (seed["source"], seed["path"], seed["lang"])
        assert pair["source"] == manifest[pair["path"]]["source"]  # e.g. pypi:click==8.5.1
        assert (corpus / pair["path"]).is_file()
        assert pair["instruction"].strip() and pair["response"].strip()
    overlaps = pairs["overlaps_seed"]
    assert overlaps == sorted(overlaps, reverse=True)  # the paper's priority: overlapping pairs first
    assert stats["overlapping_seed"] == sum(overlaps)
    keys = [(p["instruction"], p["response"]) for p in pairs]
    assert len(set(keys)) == len(keys)
    assert set(rejects["reason"]) <= {"no_pairs", "unsupported_language", "duplicate_pair", "test_file"}
    assert "unsupported_language" in rejects["reason"]  # the shell scripts
    docs = stats["documents"]
    assert docs["kept"] + sum(docs["dropped"].values()) == docs["seen"] == len(seed_rows)


def test_stage_refuses_corpora_it_cannot_reread(tmp_path):
    (tmp_path / "docs.jsonl").write_text('{"content": "x = 1", "lang": "python"}\n')
    config = BuilderConfig(corpus=str(tmp_path / "docs.jsonl"), output_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="cannot be re-read"):
        run(config, RunDir(tmp_path, "pairs", "fp"), RunDir(tmp_path, "seeds", "fp0"))
