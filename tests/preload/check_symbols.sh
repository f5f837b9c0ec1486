#!/usr/bin/env bash
# libhakmem.so must not depend on libstdc++/libgcc_s and must export the whole
# malloc family, the __libc_* aliases and every operator new/delete form.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
need_lib "$lib"
needed=$(readelf -d "$lib" | awk '/\(NEEDED\)/ { print $NF }')
[[ -n $needed ]] || fail "no NEEDED entries read from $lib"
for bad in libstdc++ libgcc_s; do
  if grep -q "$bad" <<<"$needed"; then fail "$lib depends on $bad: $needed"; fi
done
syms=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TtWiV]$/ { print $3 }')
[[ -n $syms ]] || fail "nm found no defined symbols"
missing=()
for s in malloc free calloc realloc posix_memalign aligned_alloc memalign valloc pvalloc \
         malloc_usable_size reallocarray \
         __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign \
         _Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t \
         _ZnwmSt11align_val_t _ZnamSt11align_val_t \
         _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t \
         _ZdlPv _ZdaPv _ZdlPvm _ZdaPvm \
         _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t \
         _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t \
         _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t \
         _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t \
         malloc_trim mallinfo2 mallinfo malloc_stats malloc_info mallopt \
         hk_malloc hk_free hk_malloc_trim hk_mallinfo2 hk_mallopt \
         hakmem_collect hakmem_stats hakmem_print_stats hakmem_version hakmem_version_string; do
  grep -qx -- "$s" <<<"$syms" || missing+=("$s")
done
((${#missing[@]} == 0)) || fail "not exported: ${missing[*]}"
# Loading it into a C program must not pull libstdc++ in either.
out=$(LD_PRELOAD="$lib" LD_DEBUG=libs /bin/true 2>&1) || fail "/bin/true failed under preload"
if grep -q 'calling init: .*libstdc++' <<<"$out"; then fail "libstdc++ loaded into /bin/true"; fi
echo "ok: NEEDED=[$(echo $needed)]"
