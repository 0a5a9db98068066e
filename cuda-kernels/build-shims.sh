#!/usr/bin/env bash
# Builds the forwarding shims libcublas.so.11 and libcudnn.so.8 (see src/main/shims/kiln_shim.c and
# docs/cuda.md) into src/main/resources/io/kiln/cuda/shims/, with gcc, for linux-x86_64.
#
# 1. When the JCuda natives jars are in the local Maven repository (mvn -pl engine -am dependency:resolve
#    puts them there), the symbol lists src/main/shims/<soname>.syms are regenerated from the undefined
#    symbols of the natives (readelf --dyn-syms) that carry the old version node (...@libcublas.so.11).
# 2. For each soname: generated trampolines (jmp *kiln_table[i]), the name table, a linker version script
#    that puts every exported symbol in the old version node, linked with -ldl against the GLIBC_2.2.5
#    versions of dlopen/dlsym.
# 3. shims.properties records a hash of the inputs; ShimsUpToDateTest compares it with the sources.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
shims="$here/src/main/shims"
res="$here/src/main/resources/io/kiln/cuda/shims"
ver="${JCUDA_VERSION:-11.7.0}"
m2="${M2_REPO:-$HOME/.m2/repository}"
CC="${CC:-gcc}"

# name of the soname | natives artifacts whose undefined symbols it must define | candidates, newest first
LIBS=(
  "libcublas.so.11|jcublas-natives|libcublas.so.13 libcublas.so.12 libcublas.so.11"
  "libcudnn.so.8|jcudnn-natives|libcudnn.so.9 libcudnn.so.8"
)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

update_list() { # soname artifact
  local soname="$1" artifact="$2"
  local jar="$m2/org/jcuda/$artifact/$ver/$artifact-$ver-linux-x86_64.jar"
  if [ ! -f "$jar" ]; then
    echo "build-shims.sh: $jar not found; keeping $soname.syms as it is" >&2
    return 0
  fi
  mkdir -p "$tmp/$artifact"
  (cd "$tmp/$artifact" && unzip -o -q "$jar" 'lib/*.so')
  readelf --dyn-syms -W "$tmp/$artifact"/lib/*.so \
    | awk -v tag="@$soname" '$7 == "UND" && index($8, tag) { sub(/@.*/, "", $8); print $8 }' \
    | LC_ALL=C sort -u > "$shims/$soname.syms"
  echo "$soname.syms: $(wc -l < "$shims/$soname.syms") symbols from $(basename "$jar")"
}

build() { # soname candidates...
  local soname="$1"; shift
  local list="$shims/$soname.syms" gen="$tmp/gen-$soname"
  mkdir -p "$gen"
  local count
  count=$(wc -l < "$list")
  {
    echo "#define KILN_COUNT $count"
    echo "static const char *const kiln_names[KILN_COUNT] = {"
    sed 's/.*/    "&",/' "$list"
    echo "};"
  } > "$gen/names.h"
  {
    echo "    .text"
    local i=0 s
    while read -r s; do
      printf '    .p2align 4\n    .globl %s\n    .type %s, @function\n%s:\n    jmp *kiln_table+%d(%%rip)\n    .size %s, .-%s\n' \
        "$s" "$s" "$s" $((8 * i)) "$s" "$s"
      i=$((i + 1))
    done < "$list"
    for ((i = 0; i < count; i++)); do
      printf '    .p2align 4\nkiln_miss_%d:\n    movl $%d, %%edi\n    jmp kiln_missing\n' "$i" "$i"
    done
    echo '    .section .data.rel.ro,"aw"'
    echo "    .p2align 3"
    echo "    .globl kiln_missing_stubs"
    echo "    .hidden kiln_missing_stubs"
    echo "kiln_missing_stubs:"
    for ((i = 0; i < count; i++)); do
      echo "    .quad kiln_miss_$i"
    done
    echo '    .section .note.GNU-stack,"",@progbits'
  } > "$gen/trampolines.S"
  {
    echo "$soname {"
    echo "  global:"
    sed 's/.*/    &;/' "$list"
    echo "    kiln_shim_target;"
    echo "  local: *;"
    echo "};"
  } > "$gen/version.map"
  local cands="" c
  for c in "$@"; do
    cands="$cands${cands:+, }\"$c\""
  done
  mkdir -p "$res"
  # libdl.so.2 by its file, so that it is NEEDED (on glibc < 2.34 dlopen/dlsym live there; on newer ones it
  # is an empty stub that still exists)
  local libdl
  libdl="$("$CC" -print-file-name=libdl.so.2)"
  "$CC" -std=gnu11 -O2 -fPIC -shared -Wall -Wextra -Wno-unused-parameter \
    -DKILN_SONAME="\"$soname\"" -DKILN_CANDIDATES="$cands" -I"$gen" \
    -o "$res/$soname" "$shims/kiln_shim.c" "$gen/trampolines.S" \
    -Wl,-soname,"$soname" -Wl,--version-script="$gen/version.map" -Wl,--build-id=none \
    -Wl,--hash-style=both -Wl,-z,noexecstack -Wl,-z,now -Wl,--no-as-needed "$libdl" -s
  echo "built $res/$soname ($count symbols, forwarding to the first of: $*)"
}

for entry in "${LIBS[@]}"; do
  IFS='|' read -r soname artifact cands <<< "$entry"
  update_list "$soname" "$artifact"
done
for entry in "${LIBS[@]}"; do
  IFS='|' read -r soname artifact cands <<< "$entry"
  # shellcheck disable=SC2086
  build "$soname" $cands
done

hash="$(cd "$here" && LC_ALL=C sha256sum build-shims.sh src/main/shims/kiln_shim.c src/main/shims/libcublas.so.11.syms \
  src/main/shims/libcudnn.so.8.syms | sha256sum | cut -d' ' -f1)"
{
  echo "# written by cuda-kernels/build-shims.sh; checked by ShimsUpToDateTest"
  echo "sources-sha256=$hash"
  echo "jcuda-version=$ver"
  echo "libcublas.so.11.symbols=$(wc -l < "$shims/libcublas.so.11.syms")"
  echo "libcudnn.so.8.symbols=$(wc -l < "$shims/libcudnn.so.8.syms")"
  echo "libcublas.so.11.candidates=libcublas.so.13 libcublas.so.12 libcublas.so.11"
  echo "libcudnn.so.8.candidates=libcudnn.so.9 libcudnn.so.8"
  echo "built-with=$("$CC" --version | head -1), $(ldd --version | head -1 | sed 's/.* //') glibc"
} > "$res/shims.properties"
echo "wrote $res/shims.properties (sources $hash)"
