#!/usr/bin/env bash
# Tests of scripts/check-layering.sh: it passes on this repository and fails, naming the fault, on copies with a
# forbidden import, an undeclared or an unused dependency, a cycle, a test importing too much, or a stale picture.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A fresh copy of the parts the check reads.
copy() {
  rm -rf "$work/pkg"
  mkdir -p "$work/pkg"
  cp -R "$root/Package.swift" "$root/Sources" "$root/Tests" "$root/docs" "$work/pkg/"
}

# expect STATUS PATTERN NAME [ARGS...]: runs the check on the copy; its exit status must be STATUS and its
# output must contain PATTERN (a fixed string).
expect() {
  local status=$1 pattern=$2 name=$3
  shift 3
  local out code=0
  out=$(bash "$root/scripts/check-layering.sh" "$@" "$work/pkg" 2>&1) || code=$?
  if [ "$code" != "$status" ] || ! grep -qF -- "$pattern" <<<"$out"; then
    echo "FAIL $name: expected exit $status and \"$pattern\", got exit $code:"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

# Edits the package description JSON: python3 statements over `targets` (name -> target).
edit_json() {
  python3 - "$work/package.json" "$1" <<'PY'
import json, sys
path, code = sys.argv[1], sys.argv[2]
package = json.load(open(path))
targets = {t["name"]: t for t in package["targets"]}
def declare(target, module): targets[target]["dependencies"].append({"byName": [module, None]})
exec(code)
json.dump(package, open(path, "w"))
PY
}

# Replaces the imports cell of MODULE's row in the copy's docs/DESIGN.md.
set_table_imports() {
  python3 - "$work/pkg/docs/DESIGN.md" "$1" "$2" <<'PY'
import sys
path, module, cell = sys.argv[1:]
lines = open(path).read().split("\n")
for i, line in enumerate(lines):
    if line.startswith(f"| `{module}` |"):
        lines[i] = line[:line.rstrip().rstrip("|").rstrip().rindex("|") + 1] + f" {cell} |"
open(path, "w").write("\n".join(lines))
PY
}

# 1. The repository as it is, with the package read by `swift package dump-package`.
copy
expect 0 "Worker -> Kernels, Logging, Replication, RunSettings, Transport, Wire" "the repository passes"
(cd "$work/pkg" && swift package dump-package) > "$work/package.json"
pristine=$(cat "$work/package.json")
json=(--package-json "$work/package.json")

# 2. A forbidden import (declared in Package.swift, so that only the layering is wrong).
copy
echo "import Coordinator" >> "$work/pkg/Sources/Worker/TaskComputer.swift"
edit_json 'declare("Worker", "Coordinator")'
expect 1 "Worker imports Coordinator, which the module table of docs/DESIGN.md does not allow" "forbidden import" "${json[@]}"

# 3. An import allowed by the table but not declared in Package.swift.
copy
echo "$pristine" > "$work/package.json"
echo "import MemoryBank" >> "$work/pkg/Sources/Worker/TaskComputer.swift"
set_table_imports Worker '`Kernels`, `Wire`, `Transport`, `Replication`, `Logging`, `MemoryBank`'
expect 1 "Package.swift: Worker imports MemoryBank" "undeclared dependency" "${json[@]}"

# 4. A declared dependency that no file imports.
copy
edit_json 'declare("Worker", "MemoryBank")'
expect 1 "Package.swift: Worker declares MemoryBank but no file of it imports it" "unused dependency" "${json[@]}"

# 5. A table entry that no file imports.
copy
echo "$pristine" > "$work/package.json"
set_table_imports Wire '`CCRC32C`, `Kernels`'
expect 1 "lists Kernels among Wire's imports, but no file of Wire imports it" "stale table entry" "${json[@]}"

# 6. A cycle, allowed by the table and declared.
copy
echo "import Wire" >> "$work/pkg/Sources/Kernels/BLAS.swift"
echo "import Kernels" >> "$work/pkg/Sources/Wire/CRC32C.swift"
set_table_imports Kernels '`CBLAS`, `CPrefetch`, `CFastExp`, `CAdamRest`, `Wire`'
set_table_imports Wire '`CCRC32C`, `Kernels`'
edit_json 'declare("Kernels", "Wire"); declare("Wire", "Kernels")'
expect 1 "import cycle: Kernels -> Wire -> Kernels" "cycle" "${json[@]}"

# 7. A test target importing a module its rule does not allow.
copy
echo "$pristine" > "$work/package.json"
echo "import Dataset" >> "$work/pkg/Tests/KernelsTests/RadixSortTests.swift"
edit_json 'declare("KernelsTests", "Dataset")'
expect 1 "KernelsTests imports Dataset; a test target may import only Kernels" "test target import" "${json[@]}"

# 8. `import` inside a multi-line string or a comment is not an import.
copy
echo "$pristine" > "$work/package.json"
printf '// import Coordinator\nlet snippet = """\nimport Coordinator\n"""\n/*\nimport Coordinator\n*/\n' \
  >> "$work/pkg/Sources/Worker/TaskComputer.swift"
expect 0 "check-layering: the imports, Package.swift and docs/DESIGN.md agree" "strings and comments" "${json[@]}"

# 9. A layers picture that is not the one the imports give.
copy
sed -i 's/^3  Coordinator  Worker$/3  Coordinator/' "$work/pkg/docs/DESIGN.md"
expect 1 "the layers between <!-- layers:begin --> and <!-- layers:end --> are not the ones the imports give" \
  "stale picture" "${json[@]}"

# 10. A module the package does not know.
copy
echo "import Nonesuch" >> "$work/pkg/Sources/Wire/CRC32C.swift"
expect 1 "Wire imports Nonesuch, which is neither a target of the package" "unknown module" "${json[@]}"

if [ "$failures" -gt 0 ]; then
  echo "check-layering tests: $failures failed"
  exit 1
fi
echo "check-layering tests: all passed"
