#!/usr/bin/env bash
# make test: installs into a scratch prefix and checks what landed there: the binary runs
# from it, the man page is well-formed roff naming every subcommand, the completion
# scripts parse in their shells (bash always; zsh and fish where installed).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
make --no-print-directory install PREFIX="$prefix" >/dev/null
fail() { echo "check-install: $*" >&2; exit 1; }
"$prefix/bin/vmowner" --help | grep -q "USAGE: vmowner" || fail "installed vmowner does not run"
man=$prefix/share/man/man1/vmowner.1
grep -q '^\.Dt VMOWNER 1' "$man" || fail "man page has no .Dt (mdoc) header"
for sub in summary page-owner stacks pfn info allocinfo fragmentation swap diff; do
    grep -q "$sub" "$man" || fail "man page does not name $sub"
done
if command -v groff >/dev/null; then
    groff -mandoc -Tutf8 -ww -z "$man" 2>&1 | grep . && fail "groff warns about the man page"
fi
bash -n "$prefix/share/bash-completion/completions/vmowner" || fail "bash completion does not parse"
grep -q "diff" "$prefix/share/bash-completion/completions/vmowner" || fail "bash completion lacks diff"
grep -q "folded" "$prefix/share/bash-completion/completions/vmowner" || fail "bash completion lacks --format folded"
if command -v zsh >/dev/null; then zsh -n "$prefix/share/zsh/site-functions/_vmowner" || fail "zsh completion does not parse"; fi
if command -v fish >/dev/null; then fish -n "$prefix/share/fish/vendor_completions.d/vmowner.fish" || fail "fish completion does not parse"; fi
echo "check-install: binary, man page and completions installed and well-formed"
