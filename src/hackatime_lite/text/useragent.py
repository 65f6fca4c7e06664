"""Turn a heartbeat User-Agent into the (editor, operating system) pair WakaTime displays.

What clients really send (checked against wakatime-cli, the editor plugins and the
parsers in wakapi and hackatime):

    wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0
    wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/900 vim-wakatime/11.0.0
    Firefox/139.0 linux_x86-64 firefox-wakatime/4.1.0
    Mozilla/5.0 (Windows NT 10.0; Win64; x64) ... Chrome/120.0.0.0 Safari/537.36

i.e. an optional CLI token, a parenthesised platform, an optional runtime token, then a
chain of ``product/version`` tokens written by the plugin: usually the editor followed by
its ``<name>-wakatime`` plugin, sometimes with AI-agent or AI-model tokens around them.
"""

import functools
import re
from collections.abc import Iterator

UNKNOWN = "Unknown"

# Real user agents are a few hundred characters; the rest of a longer one is junk that
# would only cost regex time on the ingest path.
_MAX_LENGTH = 1024
# The longest multi-word product name seen in the wild is "Visual Studio Code - Insiders".
_MAX_NAME_WORDS = 5
_MAX_RAW_EDITOR_LENGTH = 40

# First match wins, so the more specific systems come before the ones they contain:
# Android reports Linux, iOS reports "like Mac OS X", ChromeOS reports X11.
_OS_RULES: list[tuple[str, str]] = [
    (r"android", "Android"),
    (r"iphone|ipad|ipod|(?<![a-z])ios(?![a-z])", "iOS"),
    (r"(?<![a-z])cros(?![a-z])|chrome ?os", "ChromeOS"),
    (r"windows|cygwin|mingw|msys|(?<![a-z])win(?:32|64|nt|\d\d)?(?![a-z])", "Windows"),
    (r"darwin|mac ?os|macintosh|(?<![a-z])mac(?![a-z])", "Mac"),
    (r"freebsd", "FreeBSD"),
    (r"openbsd", "OpenBSD"),
    (r"netbsd", "NetBSD"),
    (r"linux|x11|ubuntu|debian|fedora", "Linux"),
]

# Product names are matched lowercased with spaces removed ("Visual Studio Code" ->
# "visualstudiocode"). Order is priority: when a chain holds two products that both
# match, the earlier rule wins. That is why browsers come last: every Chromium browser
# also claims to be Chrome and Safari, and the web VS Code runs inside one.
_EDITOR_RULES: list[tuple[str, str]] = [
    # VS Code and its forks; vscode-wakatime sends the fork's own name when it knows it.
    (r"vscode(?:-insiders)?|vs-?code|visualstudiocode(?:-insiders)?|code|code-?oss|code-server", "VS Code"),
    (r"cursor(?:nightly)?", "Cursor"),
    (r"windsurf(?:next)?", "Windsurf"),
    (r"vscodium|codium", "VSCodium"),
    (r"antigravity(?:-?ide)?", "Antigravity"),
    (r"kiro", "Kiro"),
    (r"trae(?:cn)?", "Trae"),
    (r"positron", "Positron"),
    (r"qoder", "Qoder"),
    (r"azdata|sqlops|azuredatastudio", "Azure Data Studio"),
    (r"arduino(?:ide)?", "Arduino IDE"),
    (r"onivim2?", "Onivim"),
    # JetBrains: jetbrains-wakatime sends the product name lowercased without spaces;
    # older releases sent platform prefixes such as "PyCharmCore" or "Idea".
    (r"pycharm\w*", "PyCharm"),
    (r"intellij\w*|idea(?:ic|iu|edu|64)?", "IntelliJ IDEA"),
    (r"webstorm", "WebStorm"),
    (r"phpstorm", "PhpStorm"),
    (r"gog?land", "GoLand"),
    (r"(?:jetbrains)?rider", "Rider"),
    (r"clion(?:nova)?", "CLion"),
    (r"rubymine", "RubyMine"),
    (r"datagrip", "DataGrip"),
    (r"dataspell", "DataSpell"),
    (r"rustrover", "RustRover"),
    (r"appcode", "AppCode"),
    (r"aqua", "Aqua"),
    (r"fleet(?:backend)?", "Fleet"),
    (r"androidstudio\w*", "Android Studio"),
    # Classic editors.
    (r"neovim|nvim|wakatime\.nvim", "Neovim"),
    (r"g?vim|macvim", "Vim"),
    (r"emacs", "Emacs"),
    (r"zed(?:preview|nightly)?", "Zed"),
    (r"helix|hx", "Helix"),
    (r"sublime(?:text)?\d?|subl", "Sublime Text"),
    (r"xcode", "Xcode"),
    (r"notepad\+\+|notepadpp|notepad-plus-plus", "Notepad++"),
    (r"visualstudio|vs20\d\d|devenv", "Visual Studio"),
    (r"eclipse", "Eclipse"),
    (r"netbeans", "NetBeans"),
    (r"atom", "Atom"),
    (r"brackets", "Brackets"),
    (r"kate|ktexteditor", "Kate"),
    (r"kdevelop", "KDevelop"),
    (r"qtcreator", "Qt Creator"),
    (r"textmate", "TextMate"),
    (r"nova", "Nova"),
    (r"bbedit", "BBEdit"),
    (r"micro", "Micro"),
    (r"kakoune|kak", "Kakoune"),
    (r"lapce", "Lapce"),
    (r"jupyter(?:lab|notebook)?", "Jupyter"),
    (r"rstudio", "RStudio"),
    # Creative and game tools with WakaTime plugins.
    (r"unity(?:hub)?", "Unity"),
    (r"unreal(?:engine)?|ue[45]", "Unreal Engine"),
    (r"godot(?:engine)?[\d.]*", "Godot"),
    (r"blender", "Blender"),
    (r"figma(?:-desktop)?", "Figma"),
    (r"roblox-?studio", "Roblox Studio"),
    (r"kicad(?:eda)?[\d.]*", "KiCad"),
    (r"obsidian", "Obsidian"),
    (r"processing", "Processing"),
    # Terminal plugins report the shell; macos-wakatime reports the terminal app.
    (
        r"terminal|iterm2?|warp|wezterm|alacritty|kitty|ghostty|konsole|windowsterminal"
        r"|zsh|bash|fish|pwsh|powershell|nushell|xonsh|wakatime-zsh-plugin",
        "Terminal",
    ),
    # Browsers, most specific first.
    (r"edg[ea]?|edgios|edge", "Edge"),
    (r"opr|opera", "Opera"),
    (r"vivaldi", "Vivaldi"),
    (r"arc", "Arc"),
    (r"samsungbrowser", "Samsung Internet"),
    (r"(?:google)?chrome|chromium|crios|headlesschrome", "Chrome"),
    (r"firefox|fxios", "Firefox"),
    (r"(?:mobile)?safari", "Safari"),
]

# AI agents only win when no editor is in the chain: "claude/4 cursor/1.1 vscode-wakatime/25"
# is Cursor with an agent annotation, while "claude-code/2.1 claude-code-wakatime/3.1" is the
# agent itself. "claude" alone is what claude-code-wakatime sent before it said "claude-code".
_AI_AGENT_RULES: list[tuple[str, str]] = [
    (r"claude(?:-?code)?", "Claude Code"),
    (r"codex(?:-?cli|-?desktop|-?agent)?", "Codex"),
    (r"gemini(?:-cli)?", "Gemini CLI"),
    (r"opencode(?:-cli|-desktop)?", "OpenCode"),
    (r"(?:github-?)?copilot(?:-cli)?", "GitHub Copilot"),
    (r"cline", "Cline"),
    (r"continue", "Continue"),
    (r"roo-?code", "Roo Code"),
    (r"qwen-?code(?:-cli)?", "Qwen Code"),
    (r"(?:factory)?droid", "Factory Droid"),
    (r"aider", "Aider"),
    (r"amp", "Amp"),
    (r"goose", "Goose"),
    (r"crush", "Crush"),
]

# Plugin names that only identify an editor in the plugin position. JetBrains platform
# prefixes used to be "Python" (PyCharm Professional) and "Ruby" (RubyMine), names that
# would be wrong anywhere else.
_PLUGIN_ONLY_EDITORS: dict[str, str] = {
    "python": "PyCharm",
    "ruby": "RubyMine",
    "jetbrains": "JetBrains",
}

# "vendor/product" tokens where the product sits in the version slot.
_VENDOR_PREFIXES = frozenset({"jetbrains"})

# Tokens that are never the editor: the CLI itself, runtimes, relays, browser boilerplate,
# desktop trackers (macos-wakatime, windows-wakatime) and wakatime-cli's "Unknown/0".
_NOT_AN_EDITOR = frozenset({
    "wakatime", "wakatime-cli", "wakatime-ls", "waka-relay", "exec", "mcp", "unknown",
    "go", "node", "python", "java", "mozilla", "applewebkit", "gecko", "khtml", "version",
    "mobile", "macos", "windows", "linux", "darwin", "mac", "win", "in", "x",
})

# A candidate's rank is (position, tier, rule index) and the lowest wins: an editor named
# by its own token beats one guessed from the plugin name, and editors beat AI agents.
_EDITOR_TOKEN, _PLUGIN_TOKEN = 0, 1
_EDITOR_TIER, _AI_AGENT_TIER = 0, 1
_RULES = [(pattern, name, _EDITOR_TIER) for pattern, name in _EDITOR_RULES] + [
    (pattern, name, _AI_AGENT_TIER) for pattern, name in _AI_AGENT_RULES
]
# One alternation with a named group per rule: a single fullmatch finds the first rule,
# in priority order, that matches a candidate name. Rules only use (?:...) groups.
_PRODUCT_NAME = re.compile("|".join(f"(?P<r{index}>{rule[0]})" for index, rule in enumerate(_RULES)))
_OS_PATTERNS = [(re.compile(pattern), name) for pattern, name in _OS_RULES]
_PLUGIN_NAME = re.compile(r"(?P<base>.+?)[-_.](?:waka|hacka)time(?:[-_.].*)?", re.IGNORECASE)
_PARENTHESES = re.compile(r"\([^()]*\)")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")
_WORD_JUNK = "\"'\\()"
_PLAUSIBLE_PRODUCT = re.compile(r"[A-Za-z][\w.+#-]*")

_Rank = tuple[int, int, int]


@functools.lru_cache(maxsize=4096)
def parse_user_agent(ua: str | None) -> tuple[str, str]:
    """Return ``(editor, operating_system)`` display names, ``"Unknown"`` for what can't be told."""
    if not isinstance(ua, str):
        return UNKNOWN, UNKNOWN
    try:
        return _parse(ua)
    except Exception:  # a parser bug must never cost the user a heartbeat
        return UNKNOWN, UNKNOWN


def _parse(ua: str) -> tuple[str, str]:
    text = _CONTROL_CHARS.sub(" ", ua[:_MAX_LENGTH]).strip()
    if not text:
        return UNKNOWN, UNKNOWN
    # The first parenthesised group is the platform in every format we know; when it
    # says nothing useful, browser-extension chains carry the OS as a bare token.
    platform = _PARENTHESES.search(text)
    os_name = (_os_from(platform.group()) if platform else None) or _os_from(text) or UNKNOWN
    return _editor_from(_PARENTHESES.sub(" ", text)), os_name


def _os_from(text: str) -> str | None:
    lowered = text.lower()
    return next((name for pattern, name in _OS_PATTERNS if pattern.search(lowered)), None)


def _editor_from(chain: str) -> str:
    products = list(_products(chain))
    ranked = [hit for hit in map(_recognise, products) if hit]
    if ranked:
        return min(ranked)[1]
    looks_like_wakatime = chain.lower().startswith("wakatime/") or any(
        _PLUGIN_NAME.fullmatch(words[-1]) for words in products
    )
    return (_raw_editor(products) if looks_like_wakatime else None) or UNKNOWN


def _products(chain: str) -> Iterator[list[str]]:
    """Yield each product's name as words; words without a slash belong to the next name."""
    pending: list[str] = []
    for word in chain.split():
        name, slash, version = word.partition("/")
        if not slash:
            pending.append(word.strip(_WORD_JUNK))
            continue
        if name.lower() in _VENDOR_PREFIXES and version:
            name = version.partition("/")[0]
        pending.append(name.strip(_WORD_JUNK))
        yield pending[-_MAX_NAME_WORDS:]
        pending = []
    if pending:
        yield pending[-_MAX_NAME_WORDS:]


def _recognise(words: list[str]) -> tuple[_Rank, str] | None:
    # Longest candidate first so "Visual Studio Code" is not read as a bare "Code".
    for start in range(len(words)):
        candidate = "".join(words[start:]).lower()
        if not candidate:
            continue
        plugin = _PLUGIN_NAME.fullmatch(candidate)
        if not plugin:
            hit = _match_rule(candidate, _EDITOR_TOKEN)
        elif plugin.group("base") in _PLUGIN_ONLY_EDITORS:
            hit = (_PLUGIN_TOKEN, _EDITOR_TIER, -1), _PLUGIN_ONLY_EDITORS[plugin.group("base")]
        else:
            hit = _match_rule(plugin.group("base"), _PLUGIN_TOKEN)
        if hit:
            return hit
    return None


def _match_rule(name: str, position: int) -> tuple[_Rank, str] | None:
    match = _PRODUCT_NAME.fullmatch(name)
    if not match or not match.lastgroup:
        return None
    index = int(match.lastgroup[1:])
    _, editor, tier = _RULES[index]
    return (position, tier, index), editor


def _raw_editor(products: list[list[str]]) -> str | None:
    """Name an editor we have no rule for the way the plugin spelled it, as WakaTime does."""
    editor_names: list[str] = []
    plugin_bases: list[str] = []
    for words in products:
        plugin = _PLUGIN_NAME.fullmatch(words[-1])
        if plugin:
            plugin_bases.append(plugin.group("base"))
        else:
            editor_names.append(words[-1])
    for name in [*editor_names, *plugin_bases]:
        if (
            len(name) <= _MAX_RAW_EDITOR_LENGTH
            and _PLAUSIBLE_PRODUCT.fullmatch(name)
            and name.lower() not in _NOT_AN_EDITOR
        ):
            return name
    return None
