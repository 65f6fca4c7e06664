"""Guess a heartbeat's language from its file name when the plugin didn't send one.

Names follow wakatime-cli (pkg/heartbeat/language.go and its detection tests), so a
guessed language groups with the same language reported by real clients: shell scripts
are "Bash", Dockerfiles "Docker", ``.vue`` files "Vue.js" and ``.tsx`` files "TypeScript".
Where one extension belongs to several languages (``.h``, ``.m``, ``.pl``) the most common
one wins; wakatime-cli settles those by looking at neighbouring files, which a server can't.
"""

import re

# Whole file names, lowercased. Checked before extensions: "CMakeLists.txt" is not Text.
_LANGUAGE_BY_FILENAME: dict[str, str] = {
    "dockerfile": "Docker",
    "containerfile": "Docker",
    "makefile": "Makefile",
    "gnumakefile": "Makefile",
    "cmakelists.txt": "CMake",
    "meson.build": "Meson",
    "gemfile": "Ruby",
    "rakefile": "Ruby",
    "podfile": "Ruby",
    "vagrantfile": "Ruby",
    "brewfile": "Ruby",
    "pkgbuild": "Bash",
    ".bashrc": "Bash",
    ".bash_profile": "Bash",
    ".zshrc": "Bash",
    ".profile": "Bash",
    ".vimrc": "VimL",
    "_vimrc": "VimL",
    ".gvimrc": "VimL",
    "go.mod": "Go",
    "pipfile": "TOML",
    "poetry.lock": "TOML",
    "cargo.lock": "TOML",
    "build.bazel": "Python",
    "sconstruct": "Python",
    "jenkinsfile": "Groovy",
    ".gitconfig": "Git Config",
    ".gitattributes": "Git Attributes",
    ".gitignore": "Ignore List",
    ".dockerignore": "Ignore List",
    ".editorconfig": "EditorConfig",
    "nginx.conf": "Nginx",
    ".htaccess": "ApacheConf",
    "crontab": "Crontab",
}

# Variants such as "Dockerfile.dev" or "Makefile.linux" keep the base name in front.
_LANGUAGE_BY_FILENAME_PREFIX: tuple[tuple[str, str], ...] = (
    ("dockerfile.", "Docker"),
    ("containerfile.", "Docker"),
    ("makefile.", "Makefile"),
)

# Extensions without the dot, lowercased. Compound ones ("blade.php") are tried first.
_LANGUAGE_BY_EXTENSION: dict[str, str] = {
    # Python family
    "py": "Python",
    "pyw": "Python",
    "pyi": "Python",
    "bzl": "Python",
    "pyx": "Cython",
    "pxd": "Cython",
    "ipynb": "Jupyter Notebook",
    # JavaScript / TypeScript
    "js": "JavaScript",
    "mjs": "JavaScript",
    "cjs": "JavaScript",
    "jsm": "JavaScript",
    "jsx": "JSX",
    "ts": "TypeScript",
    "mts": "TypeScript",
    "cts": "TypeScript",
    "tsx": "TypeScript",
    "vue": "Vue.js",
    "svelte": "Svelte",
    "astro": "Astro",
    "coffee": "CoffeeScript",
    # Systems languages
    "c": "C",
    "h": "C",
    "cpp": "C++",
    "cc": "C++",
    "cxx": "C++",
    "c++": "C++",
    "hpp": "C++",
    "hh": "C++",
    "hxx": "C++",
    "h++": "C++",
    "ino": "Arduino",
    "m": "Objective-C",
    "mm": "Objective-C++",
    "rs": "Rust",
    "go": "Go",
    "zig": "Zig",
    "nim": "Nim",
    "d": "D",
    "cu": "Cuda",
    "cuh": "Cuda",
    "asm": "Assembly",
    "s": "Assembly",
    "nasm": "Assembly",
    "wat": "WebAssembly",
    "odin": "Odin",
    "mojo": "Mojo",
    # JVM and .NET
    "java": "Java",
    "kt": "Kotlin",
    "kts": "Kotlin",
    "scala": "Scala",
    "sc": "Scala",
    "groovy": "Groovy",
    "gradle": "Groovy",
    "clj": "Clojure",
    "cljs": "Clojure",
    "cljc": "Clojure",
    "edn": "Clojure",
    "cs": "C#",
    "csx": "C#",
    "fs": "F#",
    "fsi": "F#",
    "fsx": "F#",
    "vb": "VB.NET",
    "cshtml": "Razor",
    "razor": "Razor",
    "xaml": "XAML",
    # Scripting
    "rb": "Ruby",
    "rake": "Ruby",
    "gemspec": "Ruby",
    "erb": "ERB",
    "php": "PHP",
    "blade.php": "Blade",
    "twig": "Twig",
    "pl": "Perl",
    "pm": "Perl",
    "raku": "Raku",
    "lua": "Lua",
    "tcl": "Tcl",
    "awk": "Awk",
    "r": "R",
    "jl": "Julia",
    "dart": "Dart",
    "swift": "Swift",
    "gd": "GDScript",
    # Functional
    "hs": "Haskell",
    "lhs": "Haskell",
    "elm": "Elm",
    "ml": "OCaml",
    "mli": "OCaml",
    "re": "Reason",
    "purs": "PureScript",
    "ex": "Elixir",
    "exs": "Elixir",
    "eex": "Elixir",
    "heex": "Elixir",
    "erl": "Erlang",
    "hrl": "Erlang",
    "gleam": "Gleam",
    "el": "Emacs Lisp",
    "lisp": "Common Lisp",
    "scm": "Scheme",
    "rkt": "Racket",
    "lean": "Lean",
    "agda": "Agda",
    "idr": "Idris",
    # Shells
    "sh": "Bash",
    "bash": "Bash",
    "zsh": "Bash",
    "ksh": "Bash",
    "fish": "Fish",
    "nu": "Nushell",
    "ps1": "PowerShell",
    "psm1": "PowerShell",
    "psd1": "PowerShell",
    "bat": "Batchfile",
    "cmd": "Batchfile",
    # Web markup and styles
    "html": "HTML",
    "htm": "HTML",
    "xhtml": "HTML",
    "css": "CSS",
    "scss": "SCSS",
    "sass": "Sass",
    "less": "LESS",
    "styl": "Stylus",
    "hbs": "Handlebars",
    "handlebars": "Handlebars",
    "mustache": "Mustache",
    "pug": "Pug",
    "jade": "Pug",
    "ejs": "EJS",
    "liquid": "Liquid",
    "marko": "Marko",
    # Documents
    "md": "Markdown",
    "markdown": "Markdown",
    "mdx": "Markdown",
    "rst": "reStructuredText",
    "adoc": "AsciiDoc",
    "asciidoc": "AsciiDoc",
    "org": "Org",
    "tex": "TeX",
    "sty": "TeX",
    "bib": "BibTeX",
    "typ": "Typst",
    "txt": "Text",
    # Data and configuration
    "json": "JSON",
    "jsonc": "JSON",
    "json5": "JSON5",
    "jsonnet": "Jsonnet",
    "libsonnet": "Jsonnet",
    "yaml": "YAML",
    "yml": "YAML",
    "toml": "TOML",
    "xml": "XML",
    "xsd": "XML",
    "plist": "XML",
    "svg": "SVG",
    "ini": "INI",
    "cfg": "INI",
    "csv": "CSV",
    "tsv": "TSV",
    "sql": "SQL",
    "graphql": "GraphQL",
    "gql": "GraphQL",
    "proto": "Protocol Buffer",
    "thrift": "Thrift",
    "capnp": "Cap'n Proto",
    "prisma": "Prisma",
    "tf": "HCL",
    "tfvars": "HCL",
    "hcl": "HCL",
    "nix": "Nix",
    "dhall": "Dhall",
    "bicep": "Bicep",
    "cmake": "CMake",
    "mk": "Makefile",
    "mak": "Makefile",
    "dockerfile": "Docker",
    "diff": "Diff",
    "patch": "Diff",
    "po": "Gettext Catalog",
    "pot": "Gettext Catalog",
    "http": "HTTP",
    "feature": "Gherkin",
    # Hardware, shaders, science
    "sv": "SystemVerilog",
    "svh": "SystemVerilog",
    "vhd": "VHDL",
    "vhdl": "VHDL",
    "glsl": "GLSL",
    "vert": "GLSL",
    "frag": "GLSL",
    "hlsl": "HLSL",
    "sol": "Solidity",
    "f90": "Fortran",
    "f95": "Fortran",
    "f03": "Fortran",
    "for": "Fortran",
    "cob": "COBOL",
    "cbl": "COBOL",
    "adb": "Ada",
    "ads": "Ada",
    "pas": "Pascal",
    "dpr": "Delphi",
    "vala": "Vala",
    "hx": "Haxe",
    "cr": "Crystal",
    "nb": "Mathematica",
    "wl": "Mathematica",
    "vim": "VimL",
}

_PATH_SEPARATORS = re.compile(r"[\\/]")
# The longest compound extension in the table has two parts ("blade.php").
_MAX_EXTENSION_PARTS = 2


def language_for_entity(entity: str | None) -> str | None:
    """Return the WakaTime language name for a file path, or None when it can't be told."""
    if not isinstance(entity, str):
        return None
    filename = _PATH_SEPARATORS.split(entity.strip())[-1].lower()
    if not filename:
        return None
    by_name = _LANGUAGE_BY_FILENAME.get(filename)
    if by_name:
        return by_name
    for prefix, language in _LANGUAGE_BY_FILENAME_PREFIX:
        if filename.startswith(prefix):
            return language
    # Leading dots mark hidden files, not extensions: ".env" has none, ".eslintrc.json" is JSON.
    parts = filename.lstrip(".").split(".")[1:]
    for start in range(max(0, len(parts) - _MAX_EXTENSION_PARTS), len(parts)):
        by_extension = _LANGUAGE_BY_EXTENSION.get(".".join(parts[start:]))
        if by_extension:
            return by_extension
    return None


# -- canonical language names (read time: hackatime_lite.aliases) ------------------------------------------
# Plugins and old clients send the same language under several names ("py", "python3", "Python"); stored values
# are kept as sent, and reads show one name. Keys are lowercase. Every name the tables above produce maps to
# itself in any case ("python" -> "Python"); the spellings below add the common short or versioned ones.
_LANGUAGE_SPELLINGS: dict[str, str] = {
    "py": "Python", "python2": "Python", "python3": "Python", "py3": "Python", "ipython": "Python",
    "js": "JavaScript", "node": "JavaScript", "nodejs": "JavaScript", "ecmascript": "JavaScript",
    "ts": "TypeScript", "golang": "Go", "rb": "Ruby", "rs": "Rust", "cpp": "C++", "cxx": "C++",
    "c#": "C#", "csharp": "C#", "cs": "C#", "sh": "Bash", "shell": "Bash", "shellscript": "Bash", "zsh": "Bash",
    "kt": "Kotlin", "md": "Markdown", "yml": "YAML", "objc": "Objective-C", "objective-c": "Objective-C",
    "vim script": "VimL", "vimscript": "VimL", "dockerfile": "Docker", "text": "Text", "plaintext": "Text",
}
_CANONICAL_LANGUAGES: dict[str, str] = {
    **{name.lower(): name for name in {*_LANGUAGE_BY_EXTENSION.values(), *_LANGUAGE_BY_FILENAME.values()}},
    **_LANGUAGE_SPELLINGS,
}


def canonical_language(name: str) -> str:
    """The server-wide name of a language as stored (`name` itself when the table does not know it)."""
    return _CANONICAL_LANGUAGES.get(name.strip().lower(), name)


def entity_extension(entity: str) -> str:
    """The lowercase last extension of a file path ("" for none): what a user's language mapping keys on."""
    filename = _PATH_SEPARATORS.split(entity.strip())[-1].lower().lstrip(".")
    return filename.rsplit(".", 1)[1] if "." in filename else ""
