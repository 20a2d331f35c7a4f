/* An AVX2-only CPU on a CPU that has more: LD_PRELOAD this, and CPUID stops reporting AVX-512,
 * AVX-VNNI and AMX to everything loaded after it (oneDNN, ONNX Runtime's MLAS, XNNPACK, ...),
 * so each runtime picks the kernels it would pick on an AMD EPYC (Zen 2/3) or any AVX2 machine.
 *
 * How: the Linux CPUID-faulting switch (arch_prctl ARCH_SET_CPUID, needs the cpuid_fault CPU
 * flag) makes every CPUID instruction raise SIGSEGV; the handler runs the real CPUID with
 * faulting briefly off, clears the feature bits and steps over the instruction. The setting is
 * per thread and inherited by threads created later, so it is set before any library starts
 * its threads. Libraries read CPUID once at start-up, so the traps cost nothing in the timed
 * loops; GENRE_CPUID_TRAPS=1 prints how many there were at exit.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static volatile unsigned long traps;
static struct sigaction previous;

/* Leaf 7, sub-leaf 0: EBX AVX512F DQ IFMA PF ER CD BW VL; ECX VBMI VBMI2 VNNI BITALG VPOPCNTDQ;
 * EDX 4VNNIW 4FMAPS VP2INTERSECT AMX-BF16 AVX512-FP16 AMX-TILE AMX-INT8. */
#define L7_EBX ((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
#define L7_ECX ((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14))
#define L7_EDX ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25))

static void on_segv(int sig, siginfo_t *info, void *context) {
    ucontext_t *uc = context;
    greg_t *r = uc->uc_mcontext.gregs;
    const unsigned char *ip = (const unsigned char *)r[REG_RIP];
    if (ip[0] != 0x0f || ip[1] != 0xa2) {  /* a real fault: hand it on */
        if (previous.sa_flags & SA_SIGINFO && previous.sa_sigaction) {
            previous.sa_sigaction(sig, info, context);
            return;
        }
        signal(SIGSEGV, previous.sa_handler == SIG_IGN ? SIG_DFL : previous.sa_handler);
        return;  /* the instruction faults again, now with the old handler */
    }
    unsigned int leaf = (unsigned int)r[REG_RAX], sub = (unsigned int)r[REG_RCX];
    unsigned int a, b, c, d;
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, sub, a, b, c, d);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    if (leaf == 7 && sub == 0) {
        b &= ~L7_EBX;
        c &= ~L7_ECX;
        d &= ~L7_EDX;
    } else if (leaf == 7 && sub == 1) {
        a = 0;  /* AVX-VNNI, AVX512-BF16, AMX-FP16, AVX-IFMA, ...: none on Zen 2/3 */
        d = 0;
    }
    r[REG_RAX] = a;
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
    traps++;
}

static void report(void) {
    fprintf(stderr, "avx2only: %lu CPUID instructions answered\n", traps);
}

__attribute__((constructor)) static void start(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous);
    if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        perror("avx2only: this kernel or CPU cannot fault on CPUID (no cpuid_fault flag)");
        _exit(3);
    }
    if (getenv("GENRE_CPUID_TRAPS"))
        atexit(report);
}
