"""parse_user_agent against user agents real clients send (wakatime-cli, plugins, browsers)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hackatime_lite.text.useragent import UNKNOWN, parse_user_agent

REAL_USER_AGENTS = [
    # wakatime-cli (Go): "wakatime/<ver> (<os>-<kernel>-<arch>) <go> <plugin chain>"
    (
        "VS Code", "Mac",
        "wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0",
    ),
    (
        "VS Code", "Linux",
        "wakatime/v1.105.0 (linux-6.11.9-zen1-1-zen-unknown) go1.23.3 vscode/1.95.3 vscode-wakatime/24.8.0",
    ),
    (
        "Notepad++", "Windows",
        "wakatime/v1.102.1 (windows-10.0.27718.1000-x86_64) go1.22.5 Notepad++/unknown "
        "windows-wakatime/0.5.0",
    ),
    (
        "Cursor", "Linux",
        "wakatime/v1.106.1 (linux-5.15.167.4-microsoft-standard-WSL2-unknown) go1.23.3 cursor/1.93.1 "
        "vscode-wakatime/24.9.2",
    ),
    (
        "Cursor", "Mac",
        "wakatime/v1.131.0 (darwin-arm64) go1.24.4 cursor/1.99.3 vscode-wakatime/25.3.1 waka-relay/0.2.1",
    ),
    (
        "Windsurf", "Mac",
        "wakatime/v1.139.4 (darwin-arm64) go1.25.5 windsurf/1.107.0 codex vscode-wakatime/29.0.3",
    ),
    (
        "VSCodium", "Linux",
        "wakatime/v1.139.4 (linux-x86_64) go1.25.5 vscodium/1.110.1 claude vscode-wakatime/29.0.3",
    ),
    (
        "VSCodium", "Windows",
        "wakatime/v2.0.12 (windows-x86_64) go1.25.5 vscodium/1.112.0 vscode-wakatime/30.0.2 Codex/0.118.0",
    ),
    (
        "Antigravity", "Mac",
        "wakatime/v1.139.4 (darwin-arm64) go1.25.5 antigravity/1.107.0 codex vscode-wakatime/29.0.3",
    ),
    ("Kiro", "Mac", "wakatime/v1.139.4 (darwin-arm64) go1.25.5 kiro/1.107.1 claude vscode-wakatime/29.0.3"),
    (
        "VS Code", "Mac",
        "wakatime/v1.139.4 (darwin-arm64) go1.25.5 code-server/1.108.2 codex vscode-wakatime/29.0.3",
    ),
    (
        "VS Code", "Windows",
        "wakatime/v2.22.2 (windows-x86_64) go1.26.5 Visual Studio Code - Insiders/1.108.0-insider "
        "(Continue/1.3.38)",
    ),
    (
        "VS Code", "Windows",
        "wakatime/v2.13.1 (windows-x86_64) go1.26.3 Copilot/0.35.2 vscode/1.119.0 vscode-wakatime/30.1.3",
    ),
    # JetBrains: current plugin sends the product name; older ones sent platform prefixes.
    (
        "PyCharm", "Linux",
        "wakatime/v1.115.2 (linux-6.8.0-1021-azure-x86_64) go1.24.0 pycharm/2024.3.1 "
        "pycharm-wakatime/15.0.3",
    ),
    (
        "PyCharm", "Linux",
        "wakatime/v1.115.2 (linux-6.8.0-1021-azure-x86_64) go1.24.0 JetBrains/PyCharm 2024.3.1 "
        "jetbrains-wakatime/15.0.3",
    ),
    (
        "PyCharm", "Windows",
        "wakatime/v1.53.3 (windows-10.0.19041.1415-unknown) go1.18.3 Python/2022.2 Python-wakatime/14.0.6",
    ),
    (
        "IntelliJ IDEA", "Windows",
        "wakatime/v1.53.4 (windows-x86_64) go1.18.4 Idea/2022.1.3 Idea-wakatime/14.1.0",
    ),
    (
        "IntelliJ IDEA", "Mac",
        "wakatime/v1.102.0 (darwin-23.5.0-arm64) go1.22.5 intellijidea/2024.1.4 "
        "intellijidea-wakatime/15.0.3",
    ),
    (
        "WebStorm", "Windows",
        "wakatime/v1.102.0 (windows-10.0.22631.3880-x86_64) go1.22.5 webstorm/2024.1.5 "
        "webstorm-wakatime/15.0.3",
    ),
    ("GoLand", "Linux", "wakatime/v1.102.0 (linux-x86_64) go1.22.5 goland/2024.1.4 goland-wakatime/15.0.3"),
    ("Rider", "Mac", "wakatime/v1.102.0 (darwin-arm64) go1.22.5 rider/2024.1.4 rider-wakatime/15.0.3"),
    ("CLion", "Linux", "wakatime/v1.102.0 (linux-x86_64) go1.22.5 clion/2024.1.4 clion-wakatime/15.0.3"),
    (
        "Android Studio", "Mac",
        "wakatime/v1.102.0 (darwin-23.5.0-arm64) go1.22.5 androidstudio/2024.1.1 "
        "androidstudio-wakatime/15.0.3",
    ),
    # vim-wakatime sends v:version ("900") for Vim and Neovim; wakatime.nvim sends major.minor.
    (
        "Vim", "Linux",
        "wakatime/v1.102.1 (linux-6.5.0-35-generic-x86_64) go1.22.5 vim/901 vim-wakatime/11.2.0",
    ),
    (
        "Neovim", "Linux",
        "wakatime/v2.0.12 (linux-x86_64) go1.25.5 neovim/801 vim-wakatime/11.3.0 ClaudeCode/2.0.31",
    ),
    ("Neovim", "Linux", "wakatime/v2.22.2 (linux-x86_64) go1.26.5 neovim/0.12 wakatime.nvim/12.0.0"),
    ("Emacs", "Mac", "wakatime/v1.102.1 (darwin-23.5.0-arm64) go1.22.5 emacs-wakatime/1.0.2"),
    ("Zed", "Mac", "wakatime/v1.102.1 (darwin-23.5.0-arm64) go1.22.5 Zed/0.140.5 Zed-wakatime/0.1.4"),
    (
        "Helix", "Linux",
        "wakatime/1.139.1 (linux-6.18.8-unknown) go1.25.5 helix/25.07.1 (74075bb5) wakatime-ls/0.2.2 "
        "helix-wakatime/0.2.2",
    ),
    (
        "Sublime Text", "Windows",
        "wakatime/v1.102.1 (windows-10.0.22631.3880-x86_64) go1.22.5 sublime/4169 sublime-wakatime/10.0.1",
    ),
    # macos-wakatime reports the app it watched; xcode-wakatime-legacy its own name.
    ("Xcode", "Mac", "wakatime/v1.102.1 (darwin-23.5.0-arm64) go1.22.5 Xcode/15.4 macos-wakatime/5.10.0"),
    (
        "Xcode", "Mac",
        "wakatime/v1.60.1 (darwin-22.1.0-arm64) go1.19.3 xcode/14.1-14B47b xcode-wakatime-legacy/3.0.0",
    ),
    (
        "Terminal", "Mac",
        "wakatime/v2.13.0 (darwin-x86_64) go1.25.9 Terminal/2.15-470.2 macos-wakatime/5.28.3 "
        "waka-relay/0.2.1",
    ),
    # Terminal and shell plugins.
    (
        "Terminal", "Mac",
        "wakatime/v2.0.13 (darwin-arm64) go1.25.5 zsh/5.9 terminal-wakatime/dev ClaudeCode/2.1.85",
    ),
    (
        "Terminal", "Linux",
        "wakatime/v2.0.12 (linux-wsl2-x86_64) go1.25.5 fish/4.5.0 terminal-wakatime/v1.1.5 "
        "ClaudeCode/2.1.89",
    ),
    ("Terminal", "Linux", "wakatime/v1.98.3 (linux-x86_64) go1.22.5 wakatime-zsh-plugin/0.2.2"),
    # AI agents win only when no editor is named in the chain.
    ("Claude Code", "Mac", "wakatime/v2.21.4 (darwin-25.5.0-arm64) go1.26.4 opus/4-8 claude-code/2.1.202"),
    (
        "Claude Code", "Windows",
        "wakatime/v2.15.0 (windows-x86_64) go1.26.3 claude/2.1.160 claude-code-wakatime/3.1.5",
    ),
    (
        "Cursor", "Mac",
        "wakatime/v2.14.7 (darwin-arm64) go1.26.3 ClaudeCode/2.1.197 cursor/1.105.1 vscode-wakatime/30.2.1",
    ),
    ("Codex", "Mac", "wakatime/v2.22.2 (darwin-arm64) go1.26.5 codex/1.0.0 codex-wakatime/1.3.1"),
    (
        "OpenCode", "Linux",
        "wakatime/v2.16.1 (linux-x86_64) go1.26.4 OpenCode/1.17.9 opencode-cli/1.17.9 "
        "opencode-wakatime/1.3.8",
    ),
    # Other plugins and operating systems.
    ("KiCad", "Windows", "wakatime/v1.106.0 (windows-x86_64) go1.23.3 kicad/8.99.0 kicad-wakatime/0.0.0"),
    (
        "Godot", "Windows",
        "wakatime/v1.139.1 (windows-x86_64) go1.25.5 GodotEngine/unknown windows-wakatime/3.0.0",
    ),
    ("Figma", UNKNOWN, "wakatime/unset (none-Chrome-none) figma-wakatime/1.2.5"),
    ("Vim", "FreeBSD", "wakatime/v1.115.2 (freebsd-14.0-RELEASE-amd64) go1.24.0 vim/901 vim-wakatime/11.2.0"),
    (UNKNOWN, "Android", "wakatime/1.139.1 (Linux-android-5.15.149-android13-unknown) go1.25.5 Unknown/0"),
    (UNKNOWN, "Windows", "wakatime/v1.86.0 (windows-10.0.22631-x86_64)"),
    # Unknown products keep the name the plugin gave them, as WakaTime does.
    ("github-desktop", "Mac", "wakatime/v1.0.0 (darwin-arm64) go1.0.0 github-desktop/1.0.0"),
    # Legacy Python CLI: platform.platform() and a "Python<version>" runtime token.
    (
        "Vim", "Linux",
        "wakatime/13.1.0 (Linux-6.1-x86_64-with-glibc2.36) Python3.11.7.final.0 vim/9.0 vim-wakatime/11.0.0",
    ),
    (
        "Sublime Text", "Mac",
        "wakatime/13.1.0 (Darwin-23.4.0-arm64-arm-64bit) Python3.11.7.final.0 sublime/4169 "
        "sublime-wakatime/10.0.1",
    ),
    (
        "Vim", "Mac",
        "wakatime/13.1.0 (macOS-14.4.1-arm64-arm-64bit) Python3.12.2.final.0 vim/900 vim-wakatime/9.0.1",
    ),
    (
        "Atom", "Windows",
        "wakatime/13.0.7 (Windows-10-10.0.19045-SP0) Python3.8.10.final.0 atom/1.60.0 atom-wakatime/6.0.4",
    ),
    (
        "Emacs", "Linux",
        "wakatime/13.0.4 (Linux-5.4.64-x86_64-with-glibc2.2.5) Python3.7.6.final.0 emacs-wakatime/1.0.2",
    ),
    # vscode-wakatime's web extension: "(<os>) <editor>/<ver> vscode-wakatime/<ver>".
    ("VS Code", "Windows", "(Windows) vscode/1.90.0 vscode-wakatime/30.2.1"),
    ("VS Code", "Android", "(Android) vscode/1.102.0 vscode-wakatime/25.0.6"),
    # browser-wakatime: "<Browser>/<ver> <os>_<arch> <browser>-wakatime/<ver>".
    ("Chrome", "Mac", "Chrome/120.0.6099.129 mac_arm64 chrome-wakatime/4.0.0"),
    ("Chrome", "ChromeOS", "Chrome/147.0.0.0 cros_x86-64 chrome-wakatime/4.1.0"),
    ("Firefox", "Linux", "Firefox/139.0 linux_x86-64 firefox-wakatime/4.1.0"),
    ("Chrome", UNKNOWN, "Chrome/120.0 chrome-wakatime/4.0.0"),
    (
        "Edge", "Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 "
        "Safari/537.36 Edg/116.0.1938.62 win_x86-64 edge-wakatime/3.0.18",
    ),
    # Plain browser user agents.
    (
        "Chrome", "Windows",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36",
    ),
    (
        "Safari", "Mac",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Safari/605.1.15",
    ),
    ("Firefox", "Linux", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    (
        "Chrome", "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
    ),
    (
        "Chrome", "Android",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.6367.82 Mobile Safari/537.36",
    ),
    # Clients that are not editors at all.
    (UNKNOWN, UNKNOWN, "curl/8.5.0"),
    (UNKNOWN, UNKNOWN, "python-requests/2.31.0"),
    (UNKNOWN, UNKNOWN, "wakatime/13.0.6"),
]


@pytest.mark.parametrize(("editor", "operating_system", "ua"), REAL_USER_AGENTS)
def test_real_user_agents(editor: str, operating_system: str, ua: str) -> None:
    assert parse_user_agent(ua) == (editor, operating_system)


@pytest.mark.parametrize(
    "ua",
    [
        None,
        "",
        "   ",
        "garbage",
        "\x00\x00\x00",
        "\x1b[31m\x07junk\x00",
        "a" * 10_000,
        "a/" * 5_000,
        "(" * 10_000,
        ")(" * 5_000,
        "wakatime/" + "x-wakatime/1 " * 1_000,
        "/////",
        "💥/1.0 🔥-wakatime/2",
    ],
    ids=lambda ua: repr(ua)[:30],
)
def test_junk_never_raises_and_falls_back_to_unknown(ua: str | None) -> None:
    assert parse_user_agent(ua) == (UNKNOWN, UNKNOWN)


def test_non_string_input_is_unknown() -> None:
    assert parse_user_agent(42) == (UNKNOWN, UNKNOWN)  # type: ignore[arg-type]
    assert parse_user_agent(b"vim/9.0 vim-wakatime/11.0.0") == (UNKNOWN, UNKNOWN)  # type: ignore[arg-type]


def test_control_characters_do_not_hide_the_editor() -> None:
    ua = "wakatime/v1.98.0 (darwin-23.4.0-arm64)\tgo1.22.1\nvscode/1.89.1\x00vscode-wakatime/24.5.0"
    assert parse_user_agent(ua) == ("VS Code", "Mac")


def test_results_are_cached() -> None:
    ua = "wakatime/v1.98.0 (darwin-23.4.0-arm64) go1.22.1 vscode/1.89.1 vscode-wakatime/24.5.0"
    parse_user_agent(ua)
    hits = parse_user_agent.cache_info().hits
    parse_user_agent(ua)
    assert parse_user_agent.cache_info().hits == hits + 1


@given(st.text(max_size=300))
def test_any_text_yields_two_display_names(ua: str) -> None:
    editor, operating_system = parse_user_agent(ua)
    assert isinstance(editor, str) and editor
    assert isinstance(operating_system, str) and operating_system
