/*
 * A forwarding library that carries an old soname (libcublas.so.11, libcudnn.so.8) for JCuda 11.7.0's
 * natives and forwards every call to the newest installed library of the family (see
 * ../../../../docs/cuda.md and the shared device/NOTES.md).
 *
 * build-shims.sh compiles this file once per soname with
 *   -DKILN_SONAME="libcudnn.so.8"  -DKILN_CANDIDATES="libcudnn.so.9", "libcudnn.so.8"
 * and links it with generated trampolines (one "jmp *kiln_table[i]" per exported symbol, every symbol in the
 * old version node through a linker version script) and the generated name table kiln_names[].
 *
 * At load time the constructor dlopen()s the first candidate that exists and fills kiln_table with dlsym();
 * a symbol the new library lacks (cuDNN 9 dropped the old RNN and algorithm-cache functions) points at a
 * stub that names the function and aborts: Kiln never calls those.
 *
 * glibc: dlopen/dlsym/dlerror are bound to their GLIBC_2.2.5 versions so the shim loads on glibc < 2.34
 * (Ubuntu 20.04) although it is built on a newer one; ShimsUpToDateTest checks the versions it needs.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dlclose,dlclose@GLIBC_2.2.5");

#include "names.h" /* generated: KILN_COUNT and kiln_names[] */

/* Filled by the constructor; read by the trampolines (generated assembly). */
__attribute__((visibility("hidden"))) void *kiln_table[KILN_COUNT];
/* Generated: one stub per symbol that calls kiln_missing(i). */
extern void *const kiln_missing_stubs[KILN_COUNT] __attribute__((visibility("hidden")));

static const char *const kiln_candidates[] = {KILN_CANDIDATES, NULL};
static const char *kiln_target = NULL;

__attribute__((visibility("hidden"), noreturn, used)) void kiln_missing(int index) {
    fprintf(stderr,
            "kiln %s shim: %s is not provided by %s; this JCuda function cannot be used with the installed "
            "library\n",
            KILN_SONAME, (index >= 0 && index < KILN_COUNT) ? kiln_names[index] : "?",
            kiln_target != NULL ? kiln_target : "any installed version (none of them could be loaded)");
    fflush(stderr);
    abort();
}

/* The name of the library the shim forwards to, or NULL when none could be loaded (for diagnostics). */
__attribute__((visibility("default"))) const char *kiln_shim_target(void) {
    return kiln_target;
}

__attribute__((constructor)) static void kiln_shim_init(void) {
    void *handle = NULL;
    for (int c = 0; kiln_candidates[c] != NULL && handle == NULL; c++) {
        void *h = dlopen(kiln_candidates[c], RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            continue;
        }
        /* dlopen of our own soname returns this shim: that is no target. */
        void *probe = dlsym(h, "kiln_shim_target");
        if (probe == (void *) &kiln_shim_target) {
            dlclose(h);
            continue;
        }
        handle = h;
        kiln_target = kiln_candidates[c];
    }
    for (int i = 0; i < KILN_COUNT; i++) {
        void *f = handle != NULL ? dlsym(handle, kiln_names[i]) : NULL;
        kiln_table[i] = f != NULL ? f : kiln_missing_stubs[i];
    }
    if (handle == NULL && getenv("KILN_SHIM_QUIET") == NULL) {
        fprintf(stderr, "kiln %s shim: none of", KILN_SONAME);
        for (int c = 0; kiln_candidates[c] != NULL; c++) {
            fprintf(stderr, " %s", kiln_candidates[c]);
        }
        fprintf(stderr, " could be loaded; every call through this shim will abort\n");
    }
}
