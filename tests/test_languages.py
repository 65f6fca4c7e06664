"""language_for_entity: WakaTime language names from file names and extensions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hackatime_lite.text.languages import language_for_entity


@pytest.mark.parametrize(
    ("entity", "language"),
    [
        # Plain extensions, POSIX paths.
        ("/home/ada/project/main.py", "Python"),
        ("/home/ada/project/cmd/server/main.go", "Go"),
        ("src/lib.rs", "Rust"),
        ("src/index.js", "JavaScript"),
        ("src/index.mjs", "JavaScript"),
        ("src/App.jsx", "JSX"),
        ("src/app.ts", "TypeScript"),
        ("src/App.tsx", "TypeScript"),
        ("src/App.vue", "Vue.js"),
        ("src/routes/+page.svelte", "Svelte"),
        ("kernel/sched.c", "C"),
        ("engine/render.cpp", "C++"),
        ("Program.cs", "C#"),
        ("Main.java", "Java"),
        ("build.gradle.kts", "Kotlin"),
        ("app/models/user.rb", "Ruby"),
        ("index.php", "PHP"),
        ("resources/views/welcome.blade.php", "Blade"),
        ("templates/base.html", "HTML"),
        ("static/site.css", "CSS"),
        ("static/site.scss", "SCSS"),
        ("README.md", "Markdown"),
        ("package.json", "JSON"),
        (".github/workflows/ci.yml", "YAML"),
        ("pyproject.toml", "TOML"),
        ("scripts/deploy.sh", "Bash"),
        ("db/schema.sql", "SQL"),
        ("Sources/App.swift", "Swift"),
        ("lib/main.dart", "Dart"),
        ("lib/app.ex", "Elixir"),
        ("src/Main.hs", "Haskell"),
        ("init.lua", "Lua"),
        ("infra/main.tf", "HCL"),
        ("notes.txt", "Text"),
        # Whole file names win over extensions.
        ("Dockerfile", "Docker"),
        ("docker/Dockerfile.dev", "Docker"),
        ("Makefile", "Makefile"),
        ("/repo/CMakeLists.txt", "CMake"),
        ("Gemfile", "Ruby"),
        ("/home/ada/.zshrc", "Bash"),
        # Case-insensitive.
        ("SRC/MAIN.PY", "Python"),
        ("Photo.JSON", "JSON"),
        ("DOCKERFILE", "Docker"),
        # Windows paths, dots in directory names, hidden files with extensions.
        ("C:\\Users\\ada\\proj.v2\\src\\App.TSX", "TypeScript"),
        ("C:\\Users\\ada\\my.project\\main.go", "Go"),
        ("/opt/app-1.2.3/lib/util.py", "Python"),
        ("/home/ada/project/.eslintrc.json", "JSON"),
        ("  /padded/path/main.rs  ", "Rust"),
        ("https://github.com/ada/repo/blob/main/app.py", "Python"),
    ],
)
def test_known_languages(entity: str, language: str) -> None:
    assert language_for_entity(entity) == language


@pytest.mark.parametrize(
    "entity",
    [
        None,
        "",
        "   ",
        "/home/ada/project/",
        "C:\\Users\\ada\\",
        "/etc/conf.d/noextension",
        "C:\\dir.with.dots\\LICENSE",
        "README",
        ".env",
        "archive.unknownext",
        "photo.jpeg.unknownext",
        "trailingdot.",
        "\x00\x01.\x02",
        "x" * 10_000,
        "." * 10_000,
    ],
)
def test_unknown_entities_are_none(entity: str | None) -> None:
    assert language_for_entity(entity) is None


def test_non_string_input_is_none() -> None:
    assert language_for_entity(42) is None  # type: ignore[arg-type]


@given(st.text(max_size=200))
def test_any_text_returns_a_name_or_none(entity: str) -> None:
    language = language_for_entity(entity)
    assert language is None or (isinstance(language, str) and language)
