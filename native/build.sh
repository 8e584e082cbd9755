#!/bin/sh
# Builds the addon (node-gyp) and the egress diversion program (clang -target bpf),
# saying first what is missing rather than failing half-way.
set -e
cd "$(dirname "$0")"
missing=""
for tool in g++ make python3 clang; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
[ -f /usr/include/bpf/libbpf.h ] || missing="$missing libbpf-dev"
if [ -n "$missing" ]; then
  echo "pspat: the native build needs:$missing (Debian: apt-get install g++ make python3 clang libbpf-dev)" >&2
  exit 1
fi
node-gyp rebuild
# The UAPI headers' asm/ lives in the multiarch include directory, which -target bpf does not search.
for prog in divert sink capture; do
  clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(gcc -print-multiarch)" -c "bpf/$prog.bpf.c" -o "build/Release/$prog.bpf.o"
done
# The diversion program again, with ring capture (needs a kernel with bpf_cast_to_kern_ctx, 6.3+; else the plain one is used).
clang -O2 -g -Wall -Werror -target bpf -DRING_CAPTURE -I"/usr/include/$(gcc -print-multiarch)" -c bpf/divert.bpf.c -o build/Release/divert-ring.bpf.o
