#!/usr/bin/env bash
# Writes the demo model's training corpus: the King James Bible (public domain), one verse per line, plain
# ASCII text, no verse references.
#
#     bash tools/prepare_corpus.sh .carry/corpus.txt
#
# Source: Debian's `bible-kjv` (the `bible` program) and `bible-kjv-text` (its compressed text). `bible -f`
# turns pretty-printing off, which prints one verse per line preceded by its reference ("Ge1:1 In the
# beginning..."); Gen1:1-Rev22:21 is the whole book. We strip the reference and squeeze runs of spaces.
# The corpus is not committed: device_goldens.sh reads it from .carry/ (an ignored folder carried to the GPU
# machine). Provenance and licence: models/README.md.
set -euo pipefail
out=${1:?usage: prepare_corpus.sh OUTPUT_FILE}

if ! command -v bible >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian package bible-kjv" >&2
    apt-get install -y bible-kjv >&2 || { apt-get update >&2 && apt-get install -y bible-kjv >&2; }
  else
    echo "ERROR: the 'bible' program is missing: apt-get install bible-kjv" >&2; exit 1
  fi
fi

mkdir -p "$(dirname "$out")"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
bible -f Gen1:1-Rev22:21 </dev/null >"$tmp"

# "Ge1:1 In the beginning ..." -> "In the beginning ..."; every line must have had a reference.
bad=$(grep -cvE '^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ ' "$tmp" || true)
if [ "$bad" -ne 0 ]; then
  echo "ERROR: $bad line(s) of bible output without a verse reference:" >&2
  grep -vE '^[0-9]?[A-Za-z]+[0-9]+:[0-9]+ ' "$tmp" | head -3 >&2; exit 1
fi
sed -E -e 's/^[^ ]+ //' -e 's/ +/ /g' -e 's/ +$//' "$tmp" >"$out"

lines=$(wc -l <"$out")
first=$(head -1 "$out")
if [ "$lines" -ne 31102 ] || [ "$first" != "In the beginning God created the heaven and the earth." ]; then
  echo "ERROR: unexpected corpus: $lines lines (expected 31102), first line '$first'" >&2; exit 1
fi
if LC_ALL=C grep -q '[^ -~]' "$out"; then
  echo "ERROR: corpus has characters outside printable ASCII" >&2; exit 1
fi
if grep -q '^$' "$out"; then
  echo "ERROR: corpus has empty lines" >&2; exit 1
fi

echo "corpus: $out"
echo "  source: Debian bible-kjv $(dpkg-query -W -f='${Version}' bible-kjv 2>/dev/null || echo '?')," \
     "bible-kjv-text $(dpkg-query -W -f='${Version}' bible-kjv-text 2>/dev/null || echo '?')"
echo "  lines:  $lines (one verse each)"
echo "  bytes:  $(wc -c <"$out")"
echo "  sha256: $(sha256sum "$out" | cut -d' ' -f1)"
